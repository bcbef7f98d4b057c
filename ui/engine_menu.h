#pragma once
// The Engine menu and the choices it holds for the models loaded from now on: the device, the
// precision (only those the loaded model's device honours are offered) and the fused oneDNN
// kernels on the CPU against the LibTorch layers. The choices are kept in the settings.

#include <QMenu>

class QActionGroup;
class QSettings;

namespace msnlens {

struct ModelInfo;

class EngineMenu : public QMenu {
  Q_OBJECT

 public:
  explicit EngineMenu(QWidget* parent = nullptr);

  // device: auto | cpu | cuda; precision: auto | fp32 | bf16 | fp16.
  void setDevice(const QString& device, const QString& precision);
  void setFused(bool fused);
  QString device() const { return device_; }
  QString precision() const { return precision_; }
  bool fused() const { return fused_; }
  // The device of a model loaded: what it honours is offered; a choice it cannot honour shows
  // as the fallback that runs (the choice itself is kept, for machines that can).
  void showModel(const ModelInfo& info);
  void restoreSettings(const QSettings& settings);
  void saveSettings(QSettings& settings) const;

 Q_SIGNALS:
  // The user changed a choice: the current model should load again under it.
  void reloadRequested();
  void fusedChanged(bool fused);

 private:
  QActionGroup* precisions_ = nullptr;
  QAction* fused_action_ = nullptr;
  QString device_ = "auto", precision_ = "auto";
  bool fused_ = true;
};

}  // namespace msnlens
