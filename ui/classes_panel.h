#pragma once
// The Classes tab: few-shot classes named by the user, each holding example images (thumbnails
// dragged from the strip, or image files), fitted by the worker as MSN's low-shot protocol
// does; or classes read from a .fewshot file. The panel asks for fits, files and the current
// image through its signals.

#include <QList>
#include <QStringList>
#include <QWidget>

class QLabel;

namespace msnlens {

class ClassList;
struct LinearHead;

class ClassesPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ClassesPanel(QWidget* parent = nullptr);

  // A new class without examples; returns its row.
  int addClass(const QString& name);
  void addExamples(int row, const QList<quint64>& ids);
  bool hasExamples() const;  // some class holds an example image
  // Asks for the classes to be fitted on their examples again (a new model's features).
  void refit();
  // The classes in use: `head`, from `source`. Classes from a file are listed (their examples
  // live in the file) unless the user's own classes have examples.
  void showClasses(const LinearHead& head, const QString& source);

 Q_SIGNALS:
  // examples[c]: the image ids of classes[c].
  void fitRequested(const QStringList& classes, const QList<QList<quint64>>& examples);
  void addCurrentImageRequested(int row);
  void filesDropped(int row, const QStringList& paths);
  void saveRequested(const QString& path);
  void loadRequested(const QString& path);  // after the list was cleared

 private:
  ClassList* list_ = nullptr;
  QLabel* status_ = nullptr;
};

}  // namespace msnlens
