#pragma once
// The File menu: opening images and models (dialogs, recent files, the clipboard) and exporting
// the view (figure, map data, report). Each action ends in a signal with what was chosen; the
// window does the opening and the writing.

#include <QMenu>

namespace msnlens {

class RecentMenu;

class FileMenu : public QMenu {
  Q_OBJECT

 public:
  explicit FileMenu(QWidget* parent = nullptr);

  // The current image's name without extension, which export dialogs propose
  // ("<base>-figure.pdf"); empty: no image, nothing to export.
  void setExportBase(const QString& base) { export_base_ = base; }
  // Remembers a file or folder opened, for Open Recent.
  void addRecent(const QString& path);

 Q_SIGNALS:
  void imagesChosen(const QStringList& paths);
  void modelChosen(const QString& path);
  void pasteRequested();
  void figureExportChosen(const QString& path);
  void mapDataExportChosen(const QString& path);
  void reportExportChosen(const QString& path);
  void quitRequested();

 private:
  // A save dialog proposing export_base_ + `suffix`; the chosen filter's extension added when
  // the user typed none.
  QString askSavePath(const QString& title, const QString& suffix, const QString& filters);

  RecentMenu* recent_ = nullptr;
  QString export_base_;
};

}  // namespace msnlens
