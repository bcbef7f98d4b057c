#include "ui/view_types.h"

namespace msnlens {

QString mask_mode_name(MaskMode mode) { return QString::fromUtf8(to_string(mode)); }

}  // namespace msnlens
