#include "ui/recent_menu.h"

#include <QSettings>

namespace msnlens {

RecentMenu::RecentMenu(const QString& title, QWidget* parent) : QMenu(title, parent) { rebuild(); }

void RecentMenu::add(const QString& path) {
  QSettings s;
  QStringList recent = s.value("recent").toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > 10) recent.removeLast();
  s.setValue("recent", recent);
  rebuild();
}

void RecentMenu::rebuild() {
  clear();
  const QStringList recent = QSettings().value("recent").toStringList();
  for (const QString& path : recent) addAction(path, this, [this, path] { Q_EMIT opened(path); });
  setEnabled(!recent.isEmpty());
}

}  // namespace msnlens
