#include "ui/classes_panel.h"

#include <QFileDialog>
#include <QGridLayout>
#include <QInputDialog>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "msnlens.h"
#include "ui/class_list.h"
#include "ui/controls.h"

namespace msnlens {

ClassesPanel::ClassesPanel(QWidget* parent) : QWidget(parent) {
  list_ = new ClassList;
  list_->setObjectName("classList");
  status_ = wrapped_label(tr("Name classes and drag a few example thumbnails (or image files) onto each: MSN's "
                             "low-shot protocol fits a logistic regression on the CLS embeddings."));
  status_->setObjectName("classesStatus");
  auto* add = push_button(tr("Add class…"), tr("A new few-shot class"), "addClassButton");
  auto* rename = push_button(tr("Rename…"), tr("Rename the selected class"), "renameClassButton");
  auto* remove = push_button(tr("Remove"), tr("Remove the selected class"), "removeClassButton");
  auto* add_current = push_button(tr("Add current image"), tr("The image on the canvas becomes an example of the selected class"),
                                  "addCurrentImageButton");
  auto* save = push_button(tr("Save…"), tr("Save the fitted classes (.fewshot)"), "saveClassesButton");
  auto* load = push_button(tr("Load…"), tr("Load classes saved before (.fewshot)"), "loadClassesButton");
  connect(add, &QPushButton::clicked, this, [this] {
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Add class"), tr("Class name:"), QLineEdit::Normal, {}, &ok);
    if (ok && !name.trimmed().isEmpty()) addClass(name.trimmed());
  });
  connect(rename, &QPushButton::clicked, this, [this] {
    const int row = list_->currentRow();
    if (row < 0) return;
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename class"), tr("Class name:"), QLineEdit::Normal, list_->className(row), &ok);
    if (ok) list_->renameClass(row, name);
  });
  connect(remove, &QPushButton::clicked, this, [this] {
    if (list_->currentRow() >= 0) list_->removeClass(list_->currentRow());
  });
  connect(add_current, &QPushButton::clicked, this, [this] {
    if (list_->currentRow() >= 0) Q_EMIT addCurrentImageRequested(list_->currentRow());
  });
  connect(save, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save classes"), "classes.fewshot", tr("Few-shot classes (*.fewshot)"));
    if (!path.isEmpty()) Q_EMIT saveRequested(path);
  });
  connect(load, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load classes"), {}, tr("Few-shot classes (*.fewshot)"));
    if (path.isEmpty()) return;
    list_->clearClasses();
    Q_EMIT loadRequested(path);
  });
  connect(list_, &ClassList::examplesChanged, this, &ClassesPanel::refit);
  connect(list_, &ClassList::filesDropped, this, &ClassesPanel::filesDropped);

  auto* buttons = new QGridLayout;
  buttons->addWidget(add, 0, 0);
  buttons->addWidget(rename, 0, 1);
  buttons->addWidget(remove, 0, 2);
  buttons->addWidget(add_current, 1, 0);
  buttons->addWidget(save, 1, 1);
  buttons->addWidget(load, 1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(status_);
  layout->addLayout(buttons);
  layout->addWidget(list_, 1);
}

int ClassesPanel::addClass(const QString& name) { return list_->addClass(name); }

void ClassesPanel::addExamples(int row, const QList<quint64>& ids) { list_->addExamples(row, ids); }

bool ClassesPanel::hasExamples() const {
  for (int row = 0; row < list_->count(); ++row)
    if (!list_->examples(row).isEmpty()) return true;
  return false;
}

void ClassesPanel::refit() {
  QStringList names;
  QList<QList<quint64>> examples;
  for (int row = 0; row < list_->count(); ++row) {
    names << list_->className(row);
    examples << list_->examples(row);
  }
  status_->setText(tr("Fitting %1 classes…").arg(names.size()));
  Q_EMIT fitRequested(names, examples);
}

void ClassesPanel::showClasses(const LinearHead& head, const QString& source) {
  status_->setText(head.empty() ? tr("No few-shot classes yet: add classes and drag example images onto them.")
                                : tr("%1 classes from %2 (%3).").arg(head.classes.size()).arg(source, QString::fromStdString(head.kind)));
  if (hasExamples()) return;
  const QSignalBlocker block(list_);
  list_->clear();
  for (const std::string& name : head.classes) list_->addClass(QString::fromStdString(name), source);
}

}  // namespace msnlens
