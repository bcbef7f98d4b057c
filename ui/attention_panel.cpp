#include "ui/attention_panel.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QVBoxLayout>

#include <algorithm>

#include "ui/attention_grid.h"

namespace msnlens {

AttentionPanel::AttentionPanel(QWidget* parent) : QWidget(parent) {
  source_ = new QComboBox;
  source_->setObjectName("mapSourceCombo");
  source_->addItem(tr("Attention"), static_cast<int>(MapSpec::Source::Attention));
  source_->addItem(tr("Attention rollout"), static_cast<int>(MapSpec::Source::Rollout));
  source_->addItem(tr("Grad-rollout (class)"), static_cast<int>(MapSpec::Source::GradRollout));
  source_->addItem(tr("Chefer relevance (class)"), static_cast<int>(MapSpec::Source::Chefer));
  source_->addItem(tr("Occlusion (class)"), static_cast<int>(MapSpec::Source::Occlusion));
  source_->addItem(tr("Patch similarity"), static_cast<int>(MapSpec::Source::Similarity));
  source_->addItem(tr("Token norms"), static_cast<int>(MapSpec::Source::TokenNorm));
  source_->addItem(tr("Feature PCA (RGB)"), static_cast<int>(MapSpec::Source::Pca));
  source_->setToolTip(tr("Class maps explain the target below; similarity and attention look from the query patch "
                         "(right-click one on the image)"));
  target_ = new QComboBox;
  target_->setObjectName("targetCombo");
  target_->setToolTip(tr("What class-specific maps explain: a score before the softmax"));
  pca_all_ = new QCheckBox(tr("PCA fitted on all images"));
  pca_all_->setObjectName("pcaAllCheck");
  pca_all_->setToolTip(tr("One set of components for every loaded image, so that the same colour means the same feature"));
  note_ = new QLabel;
  note_->setObjectName("mapNote");
  note_->setWordWrap(true);
  layer_ = new QSlider(Qt::Horizontal);
  layer_->setObjectName("layerSlider");
  layer_->setRange(0, 0);
  layer_label_ = new QLabel;
  heads_ = new QComboBox;
  heads_->setObjectName("headCombo");
  discard_ = new QSlider(Qt::Horizontal);
  discard_->setObjectName("discardSlider");
  discard_->setRange(0, 99);
  discard_->setValue(90);
  discard_->setToolTip(tr("Rollout: fraction of the weakest attention entries discarded per layer"));
  query_label_ = new QLabel(tr("CLS token"));
  auto* cls_button = new QPushButton(tr("Use CLS"));
  cls_button->setObjectName("useClsButton");
  shown_ = new QComboBox;
  shown_->setObjectName("shownCombo");
  shown_->addItem(tr("Masked view (when masked)"), true);
  shown_->addItem(tr("Unmasked image"), false);
  colormap_ = new QComboBox;
  colormap_->setObjectName("colormapCombo");
  for (const auto& [name, map] : colormaps()) colormap_->addItem(QString::fromStdString(name), static_cast<int>(map));
  opacity_ = new QSlider(Qt::Horizontal);
  opacity_->setObjectName("opacitySlider");
  opacity_->setRange(0, 100);
  opacity_->setValue(60);
  patch_grid_ = new QCheckBox(tr("Patch grid"));
  patch_grid_->setObjectName("gridCheck");
  patch_grid_->setChecked(true);
  heads_grid_ = new AttentionGrid(AttentionGrid::Mode::Heads);
  heads_grid_->setObjectName("headsGrid");

  auto* layer_row = new QHBoxLayout;
  layer_row->addWidget(layer_, 1);
  layer_row->addWidget(layer_label_);
  auto* query_row = new QHBoxLayout;
  query_row->addWidget(query_label_, 1);
  query_row->addWidget(cls_button);
  auto* form = new QFormLayout;
  form->addRow(tr("Show"), source_);
  form->addRow(tr("Layer"), layer_row);
  form->addRow(tr("Heads"), heads_);
  form->addRow(tr("Rollout discard"), discard_);
  form->addRow(tr("Target"), target_);
  form->addRow(QString(), pca_all_);
  form->addRow(tr("Query"), query_row);
  form->addRow(tr("Result"), shown_);
  form->addRow(tr("Colormap"), colormap_);
  form->addRow(tr("Opacity"), opacity_);
  form->addRow(QString(), patch_grid_);
  form->addRow(QString(), note_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(new QLabel(tr("Heads of this layer (click to show one):")));
  layout->addWidget(heads_grid_, 1);

  for (QComboBox* combo : {source_, heads_, target_, colormap_, shown_})
    connect(combo, &QComboBox::currentIndexChanged, this, &AttentionPanel::mapChanged);
  connect(layer_, &QSlider::valueChanged, this, &AttentionPanel::mapChanged);
  connect(discard_, &QSlider::valueChanged, this, &AttentionPanel::mapChanged);
  connect(opacity_, &QSlider::valueChanged, this, [this](int v) { Q_EMIT opacityChanged(v / 100.0); });
  connect(patch_grid_, &QCheckBox::toggled, this, &AttentionPanel::gridToggled);
  connect(pca_all_, &QCheckBox::toggled, this, &AttentionPanel::mapChanged);
  connect(cls_button, &QPushButton::clicked, this, &AttentionPanel::clsQueryRequested);
  connect(heads_grid_, &AttentionGrid::headPicked, this, &AttentionPanel::selectHead);

  auto menu_action = [this](const QString& text, Qt::Key key, auto slot) {
    auto* action = new QAction(text, this);
    action->setShortcut(QKeySequence(key));
    connect(action, &QAction::triggered, this, slot);
    menu_actions_ << action;
  };
  menu_action(tr("Previous layer"), Qt::Key_BracketLeft, [this] { layer_->setValue(layer_->value() - 1); });
  menu_action(tr("Next layer"), Qt::Key_BracketRight, [this] { layer_->setValue(layer_->value() + 1); });
  menu_action(tr("Next head"), Qt::Key_H, [this] {
    if (heads_->count() > 0) heads_->setCurrentIndex((heads_->currentIndex() + 1) % heads_->count());
  });
  menu_action(tr("Query: CLS"), Qt::Key_Q, [this] { Q_EMIT clsQueryRequested(); });
}

void AttentionPanel::setModel(int layers, int heads, int grid_cols) {
  layers_ = layers;
  grid_cols_ = grid_cols;
  const QSignalBlocker block_layer(layer_), block_heads(heads_);
  layer_->setRange(0, std::max(0, layers - 1));
  layer_->setValue(std::max(0, layers - 1));
  heads_->clear();
  heads_->addItem(tr("Mean of heads"), static_cast<int>(HeadFusion::Mean));
  heads_->addItem(tr("Max over heads"), static_cast<int>(HeadFusion::Max));
  heads_->addItem(tr("Min over heads"), static_cast<int>(HeadFusion::Min));
  for (int h = 0; h < heads; ++h) {
    heads_->addItem(tr("Head %1").arg(h + 1), static_cast<int>(HeadFusion::Single));
    heads_->setItemData(heads_->count() - 1, h, HeadRole);
  }
}

void AttentionPanel::setTargets(const Predictor& predictor) {
  const QSignalBlocker block(target_);
  const QVariant previous = target_->currentData();
  target_->clear();
  target_->addItem(tr("Top prediction"));
  const PredictionSource source = predictor.preferred();
  if (source == PredictionSource::Classifier || source == PredictionSource::FewShot)
    for (int i = 0; i < predictor.size(source); ++i)
      target_->addItem(QString::fromStdString(predictor.label(source, i)), QVariantList{static_cast<int>(source), i});
  target_->setCurrentIndex(std::max(0, target_->findData(previous)));
}

MapSpec AttentionPanel::mapSpec(int query_patch, PredictionSource source) const {
  MapSpec s;
  s.source = static_cast<MapSpec::Source>(source_->currentData().toInt());
  s.layer = layer_->value();
  // Before a model the combo is empty: the mean, as after loading one.
  const QVariant fusion = heads_->currentData();
  s.fusion = fusion.isValid() ? static_cast<HeadFusion>(fusion.toInt()) : HeadFusion::Mean;
  s.head = heads_->currentData(HeadRole).toInt();
  s.query_patch = query_patch;
  s.discard_ratio = static_cast<float>(discard_->value()) / 100.0f;
  s.target = {source, -1};
  s.pca_all_images = s.source == MapSpec::Source::Pca && pca_all_->isChecked();
  if (const QVariantList chosen = target_->currentData().toList(); chosen.size() == 2)
    s.target = {static_cast<PredictionSource>(chosen[0].toInt()), chosen[1].toInt()};
  return s;
}

Colormap AttentionPanel::colormap() const { return static_cast<Colormap>(colormap_->currentData().toInt()); }
bool AttentionPanel::showMasked() const { return shown_->currentData().toBool(); }
double AttentionPanel::opacity() const { return opacity_->value() / 100.0; }
bool AttentionPanel::showGrid() const { return patch_grid_->isChecked(); }

void AttentionPanel::showSpec(const MapSpec& spec, const QString& target) {
  if (target_->count() > 0) target_->setItemText(0, target.isEmpty() || target_->currentIndex() != 0 ? tr("Top prediction")
                                                                                                  : tr("Top prediction: %1").arg(target));
  layer_label_->setText(tr("%1 / %2").arg(layer_->value() + 1).arg(std::max(1, layers_)));
  const MapControls controls = map_controls(spec.source);
  layer_->setEnabled(controls.layer);
  heads_->setEnabled(controls.heads);
  discard_->setEnabled(controls.discard);
  target_->setEnabled(controls.target);
  pca_all_->setEnabled(controls.pca_all);
  query_label_->setText(QString::fromStdString(query_text(spec.query_patch, grid_cols_)));
}

void AttentionPanel::showMaps(const QImage& image, const ShownViewPtr& view, const MapSpec& spec, int rows, int cols) {
  const QString note = view ? QString::fromStdString(view->findings) : QString();
  note_->setText(note);
  note_->setVisible(!note.isEmpty());
  heads_grid_->setData(image, view ? view->maps : nullptr, spec, colormap(), rows, cols);
}

void AttentionPanel::setSource(MapSpec::Source source) {
  source_->setCurrentIndex(std::max(0, source_->findData(static_cast<int>(source))));
}

void AttentionPanel::selectHead(int layer, int head) {
  layer_->setValue(layer);
  heads_->setCurrentIndex(heads_->findData(head, HeadRole));
  source_->setCurrentIndex(source_->findData(static_cast<int>(MapSpec::Source::Attention)));
}

QJsonObject AttentionPanel::describe(const MapSpec& spec) const {
  QJsonObject view{{"source", source_->currentText()}, {"method", to_string(spec.source)}, {"layer", spec.layer + 1},
                   {"heads", heads_->currentText()}, {"query_patch", spec.query_patch}, {"rollout_discard", spec.discard_ratio},
                   {"colormap", colormap_->currentText()}};
  if (uses_target(spec.source)) view["target"] = QJsonObject{{"source", static_cast<int>(spec.target.source)}, {"index", spec.target.index}};
  return view;
}

void AttentionPanel::restoreSettings(const QSettings& settings) {
  colormap_->setCurrentIndex(std::max(0, colormap_->findData(settings.value("view/colormap", static_cast<int>(Colormap::Inferno)).toInt())));
  opacity_->setValue(settings.value("view/opacity", 60).toInt());
  patch_grid_->setChecked(settings.value("view/grid", true).toBool());
}

void AttentionPanel::saveSettings(QSettings& settings) const {
  settings.setValue("view/colormap", colormap_->currentData());
  settings.setValue("view/opacity", opacity_->value());
  settings.setValue("view/grid", patch_grid_->isChecked());
}

}  // namespace msnlens
