#pragma once
// Few-shot classes as a list: each row is a class holding example images. Thumbnails dragged
// from the strip and image files dropped on a row become that class's examples.

#include <QListWidget>

namespace msnlens {

class ClassList : public QListWidget {
  Q_OBJECT

 public:
  explicit ClassList(QWidget* parent = nullptr);

  // origin: where a class without examples here came from (a .fewshot file), shown beside it.
  int addClass(const QString& name, const QString& origin = {});
  QString className(int row) const;
  QList<quint64> examples(int row) const;
  void addExamples(int row, const QList<quint64>& ids);
  void renameClass(int row, const QString& name);
  void removeClass(int row);
  void clearClasses();

 Q_SIGNALS:
  void examplesChanged();
  void filesDropped(int row, const QStringList& paths);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dragMoveEvent(QDragMoveEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void refreshText(int row);
};

}  // namespace msnlens
