#pragma once
// The tabs on the right, one panel each: Attention, Heads, Masking, Sweep, Causes, Classes,
// Lens, Compare. Only
// the visible panel's maps are asked of the engine (the overview alone recomputes every
// layer's attention).

#include <QTabWidget>

#include "msnlens.h"

namespace msnlens {

class AttentionPanel;
class CausesPanel;
class ClassesPanel;
class ComparePanel;
class HeadsPanel;
class LensPanel;
class MaskingPanel;
class SweepPanel;

class PanelTabs : public QTabWidget {
  Q_OBJECT

 public:
  enum class Tab { Attention, Heads, Masking, Sweep, Causes, Classes, Lens, Compare };  // in their order

  explicit PanelTabs(QWidget* parent = nullptr);

  void showTab(Tab tab);
  // The maps to ask for: the canvas's `map`, and what the visible panel draws beyond it.
  MapRequest mapsWanted(const MapSpec& map) const;

  AttentionPanel* attention() const { return attention_; }
  HeadsPanel* heads() const { return heads_; }
  MaskingPanel* masking() const { return masking_; }
  SweepPanel* sweep() const { return sweep_; }
  CausesPanel* causes() const { return causes_; }
  ClassesPanel* classes() const { return classes_; }
  LensPanel* lens() const { return lens_; }
  ComparePanel* compare() const { return compare_; }

 private:
  AttentionPanel* attention_;
  HeadsPanel* heads_;
  MaskingPanel* masking_;
  SweepPanel* sweep_;
  CausesPanel* causes_;
  ClassesPanel* classes_;
  LensPanel* lens_;
  ComparePanel* compare_;
};

}  // namespace msnlens
