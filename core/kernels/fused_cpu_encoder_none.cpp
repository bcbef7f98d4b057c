// Builds without oneDNN (official LibTorch releases embed their own copy, without headers):
// the LibTorch layers run everything.
#include "kernels/fused_cpu_encoder.h"

namespace msnlens {

std::unique_ptr<FusedCpuEncoder> FusedCpuEncoder::create(const std::vector<EncoderLayerWeights>&, const EncoderSpec&,
                                                         Precision, std::string* why) {
  *why = "this build has no oneDNN (built without libdnnl-dev, or against a LibTorch that embeds its own)";
  return nullptr;
}

std::string onednn_isa() { return "none (built without oneDNN)"; }

}  // namespace msnlens
