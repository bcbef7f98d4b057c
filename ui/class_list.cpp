#include "ui/class_list.h"

#include <QDropEvent>
#include <QMimeData>

#include "ui/image_list_model.h"

namespace msnlens {
namespace {
constexpr int kNameRole = Qt::UserRole + 1;
constexpr int kExamplesRole = Qt::UserRole + 2;
constexpr int kOriginRole = Qt::UserRole + 3;
}  // namespace

ClassList::ClassList(QWidget* parent) : QListWidget(parent) {
  setAcceptDrops(true);
  viewport()->setAcceptDrops(true);  // drops land on the viewport, the widget under the cursor
  setDropIndicatorShown(true);
  setDragDropMode(QAbstractItemView::DropOnly);
}

int ClassList::addClass(const QString& name, const QString& origin) {
  auto* item = new QListWidgetItem(this);
  item->setData(kNameRole, name);
  item->setData(kOriginRole, origin);
  item->setData(kExamplesRole, QVariantList());
  refreshText(row(item));
  setCurrentItem(item);
  return row(item);
}

QString ClassList::className(int r) const { return item(r) ? item(r)->data(kNameRole).toString() : QString(); }

QList<quint64> ClassList::examples(int r) const {
  QList<quint64> ids;
  if (item(r))
    for (const QVariant& v : item(r)->data(kExamplesRole).toList()) ids << v.toULongLong();
  return ids;
}

void ClassList::addExamples(int r, const QList<quint64>& ids) {
  if (!item(r) || ids.isEmpty()) return;
  QVariantList list = item(r)->data(kExamplesRole).toList();
  for (const quint64 id : ids)
    if (!list.contains(QVariant::fromValue(id))) list << QVariant::fromValue(id);
  item(r)->setData(kExamplesRole, list);
  refreshText(r);
  Q_EMIT examplesChanged();
}

void ClassList::renameClass(int r, const QString& name) {
  if (!item(r) || name.trimmed().isEmpty()) return;
  item(r)->setData(kNameRole, name.trimmed());
  refreshText(r);
  Q_EMIT examplesChanged();
}

void ClassList::removeClass(int r) {
  delete takeItem(r);
  Q_EMIT examplesChanged();
}

void ClassList::clearClasses() {
  clear();
  Q_EMIT examplesChanged();
}

void ClassList::refreshText(int r) {
  QListWidgetItem* it = item(r);
  const int n = static_cast<int>(it->data(kExamplesRole).toList().size());
  const QString origin = it->data(kOriginRole).toString();
  const QString count = n == 0 && !origin.isEmpty() ? tr("from %1").arg(origin)
                        : n == 0                    ? tr("no examples yet: drop images here")
                        : n == 1                    ? tr("1 example")
                                                    : tr("%1 examples").arg(n);
  it->setText(QStringLiteral("%1  (%2)").arg(it->data(kNameRole).toString(), count));
}

void ClassList::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasFormat(ImageListModel::kMimeType) || event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void ClassList::dragMoveEvent(QDragMoveEvent* event) {
  if (itemAt(event->position().toPoint())) event->acceptProposedAction();
  else event->ignore();
}

void ClassList::dropEvent(QDropEvent* event) {
  const int r = row(itemAt(event->position().toPoint()));
  if (r < 0) return;
  const QList<quint64> ids = ImageListModel::idsFrom(event->mimeData());
  if (!ids.isEmpty()) {
    addExamples(r, ids);
  } else {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
      if (url.isLocalFile()) paths << url.toLocalFile();
    if (!paths.isEmpty()) Q_EMIT filesDropped(r, paths);
  }
  event->acceptProposedAction();
}

}  // namespace msnlens
