#include "ui/view_types.h"

namespace msnlens {

QString mask_mode_name(MaskMode mode) { return QString::fromUtf8(to_string(mode)); }

bool answers(const ViewMaps& maps, const ViewRequest& request) {
  if (maps.image_id != request.image_id || !(maps.request == request.maps)) return false;
  const bool masked = request.show_masked && request.mask.any();
  return masked ? (maps.masked && maps.mask == request.mask && maps.mode == request.mode) : !maps.masked;
}

}  // namespace msnlens
