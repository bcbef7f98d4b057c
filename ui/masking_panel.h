#pragma once
// The Masking tab: how masked patches are hidden from the model (the mask mode), the buttons
// that mask many patches at once (the Mask menu asks for the same actions), and how the
// masked view's outputs moved away from the unmasked ones.

#include <QWidget>

#include <cstdint>

#include "msnlens.h"
#include "ui/view_types.h"

class QAction;
class QComboBox;
class QLabel;
class QSettings;
class QSpinBox;

namespace msnlens {

// What a button (or the Mask menu) asks to do to the current image's mask.
enum class MaskAction { Random, Focal, Invert, Clear, MostAttended, LeastAttended };

class MaskingPanel : public QWidget {
  Q_OBJECT

 public:
  explicit MaskingPanel(QWidget* parent = nullptr);

  MaskMode mode() const;
  double ratio() const;  // of the patches Random, Focal and the attention actions mask
  std::uint64_t seed() const;
  // The mask-token mode needs the checkpoint's mask token (drop tokens instead without one).
  void setMaskTokenAvailable(bool available);
  // No masked result to show: the hint, or that one is on its way.
  void showPending(bool masked);
  // `masked` beside the unmasked view, `response` under `source`.
  void showResponse(const ViewSummary& masked, const MaskingResponse& response, PredictionSource source);
  void restoreSettings(const QSettings& settings);
  void saveSettings(QSettings& settings) const;
  // The Mask menu: the same actions with their shortcuts.
  const QList<QAction*>& menuActions() const { return menu_actions_; }

 public Q_SLOTS:
  void trigger(msnlens::MaskAction action) { Q_EMIT actionRequested(action); }

 Q_SIGNALS:
  void actionRequested(msnlens::MaskAction action);
  void modeChanged();

 private:
  QComboBox* mode_ = nullptr;
  QSpinBox *ratio_ = nullptr, *seed_ = nullptr;
  QLabel* response_ = nullptr;
  QList<QAction*> menu_actions_;
};

}  // namespace msnlens
