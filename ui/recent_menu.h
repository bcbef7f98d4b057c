#pragma once
// File ▸ Open Recent: the last ten models and images opened, kept in the settings.

#include <QMenu>

namespace msnlens {

class RecentMenu : public QMenu {
  Q_OBJECT

 public:
  explicit RecentMenu(const QString& title, QWidget* parent = nullptr);

  void add(const QString& path);

 Q_SIGNALS:
  void opened(const QString& path);

 private:
  void rebuild();
};

}  // namespace msnlens
