#include "ui/panel_tabs.h"

#include "ui/attention_panel.h"
#include "ui/causes_panel.h"
#include "ui/classes_panel.h"
#include "ui/compare_panel.h"
#include "ui/heads_panel.h"
#include "ui/lens_panel.h"
#include "ui/masking_panel.h"
#include "ui/sweep_panel.h"

namespace msnlens {

PanelTabs::PanelTabs(QWidget* parent)
    : QTabWidget(parent),
      attention_(new AttentionPanel),
      heads_(new HeadsPanel),
      masking_(new MaskingPanel),
      sweep_(new SweepPanel),
      causes_(new CausesPanel),
      classes_(new ClassesPanel),
      lens_(new LensPanel),
      compare_(new ComparePanel) {
  setUsesScrollButtons(false);  // every tab visible: the panel widens to fit them
  attention_->setObjectName("attentionPanel");
  heads_->setObjectName("headsPanel");
  masking_->setObjectName("maskingPanel");
  sweep_->setObjectName("sweepPanel");
  causes_->setObjectName("causesPanel");
  classes_->setObjectName("classesPanel");
  lens_->setObjectName("lensPanel");
  compare_->setObjectName("comparePanel");
  addTab(attention_, tr("Attention"));
  addTab(heads_, tr("Heads"));
  addTab(masking_, tr("Masking"));
  addTab(sweep_, tr("Sweep"));
  addTab(causes_, tr("Causes"));
  addTab(classes_, tr("Classes"));
  addTab(lens_, tr("Lens"));
  addTab(compare_, tr("Compare"));
  connect(heads_, &HeadsPanel::headPicked, attention_, &AttentionPanel::selectHead);  // a click on the overview shows that head
  connect(causes_, &CausesPanel::headPicked, attention_, &AttentionPanel::selectHead);  // and on an ablated head
}

void PanelTabs::showTab(Tab tab) {
  QWidget* const panels[] = {attention_, heads_, masking_, sweep_, causes_, classes_, lens_, compare_};  // in Tab's order
  setCurrentWidget(panels[static_cast<int>(tab)]);
}

MapRequest PanelTabs::mapsWanted(const MapSpec& map) const {
  MapRequest request;
  request.map = map;
  request.heads = currentWidget() == attention_;
  request.overview = currentWidget() == heads_;
  request.distance = currentWidget() == heads_;
  request.lens = currentWidget() == lens_;
  return request;
}

}  // namespace msnlens
