// Which precisions the CPU offers, decided from the kernels that run them: the policy for every
// CPU class (pure, so it is checked on any machine), then this process as it runs, where an ISA
// cap in the environment must read exactly like a real CPU of the capped class.

#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/inference_session.h"
#include "engine/workbench.h"
#include "support.h"

using namespace msnlens;
using namespace msntest;

namespace {

const PrecisionOffer& offer(const std::vector<PrecisionOffer>& offers, Precision p) {
  for (const PrecisionOffer& o : offers)
    if (o.precision == p) return o;
  throw std::runtime_error("no offer");
}

CpuKernels kernels(Isa isa) { return {isa, "avx2", ""}; }

TEST(PrecisionChoice, EachCpuClassOffersWhatItsKernelsHonour) {
  // AVX2 (Zen 3 and most laptops): no bf16 GEMM stays within bf16's bound, so bf16 is refused.
  const auto avx2 = cpu_precision_offers(kernels(Isa::Avx2));
  EXPECT_TRUE(offer(avx2, Precision::FP32).available);
  EXPECT_FALSE(offer(avx2, Precision::BF16).available);
  EXPECT_NE(offer(avx2, Precision::BF16).detail.find("avx2"), std::string::npos);
  EXPECT_NE(offer(avx2, Precision::BF16).detail.find("avx512_core"), std::string::npos);
  EXPECT_EQ(cpu_default_precision(kernels(Isa::Avx2)), Precision::FP32);
  // AVX-512 without bf16 (Skylake-X): oneDNN emulates bf16 correctly, slower than fp32.
  const auto avx512 = cpu_precision_offers(kernels(Isa::Avx512CoreVnni));
  EXPECT_TRUE(offer(avx512, Precision::BF16).available);
  EXPECT_NE(offer(avx512, Precision::BF16).detail.find("emulated"), std::string::npos);
  EXPECT_EQ(cpu_default_precision(kernels(Isa::Avx512Core)), Precision::FP32);
  // AVX512-BF16 (Zen 4/5) and AMX (Sapphire Rapids): bf16 in hardware is the fastest.
  for (const Isa isa : {Isa::Avx512CoreBf16, Isa::Avx512CoreAmx}) {
    EXPECT_TRUE(offer(cpu_precision_offers(kernels(isa)), Precision::BF16).available);
    EXPECT_EQ(cpu_default_precision(kernels(isa)), Precision::BF16);
  }
  // ... unless measured slower, as on an Intel Xeon whose AMX is hidden: bf16 stays a choice,
  // fp32 is the default and the offer says why. AMX is never second-guessed.
  CpuKernels slow = kernels(Isa::Avx512CoreBf16), fast = slow, amx = kernels(Isa::Avx512CoreAmx);
  slow.bf16_speedup = 0.55;
  fast.bf16_speedup = 1.7;
  amx.bf16_speedup = 0.5;
  EXPECT_EQ(cpu_default_precision(slow), Precision::FP32);
  EXPECT_TRUE(offer(cpu_precision_offers(slow), Precision::BF16).available);
  EXPECT_NE(offer(cpu_precision_offers(slow), Precision::BF16).detail.find("0.55x the speed of fp32"), std::string::npos);
  EXPECT_EQ(cpu_default_precision(fast), Precision::BF16);
  EXPECT_EQ(cpu_default_precision(amx), Precision::BF16);
  for (const Isa isa : {Isa::Avx2, Isa::Avx512Core, Isa::Avx512CoreAmx})
    EXPECT_FALSE(offer(cpu_precision_offers(kernels(isa)), Precision::FP16).available);
}

TEST(PrecisionChoice, ClassNamesAndCapValues) {
  EXPECT_EQ(cpu_class(kernels(Isa::Avx2)), "AVX2");
  EXPECT_EQ(cpu_class(kernels(Isa::Avx512Core)), "AVX-512");
  EXPECT_EQ(cpu_class(kernels(Isa::Avx512CoreBf16)), "AVX512-BF16");
  EXPECT_EQ(cpu_class(kernels(Isa::Avx512CoreAmx)), "AMX");
  EXPECT_EQ(parse_isa("AVX2"), Isa::Avx2);
  EXPECT_EQ(parse_isa("AVX512_CORE"), Isa::Avx512Core);
  EXPECT_EQ(parse_isa("avx512_core_bf16"), Isa::Avx512CoreBf16);
  EXPECT_EQ(parse_isa("ALL"), Isa::Avx512CoreAmx);
  EXPECT_EQ(parse_isa("pentium"), Isa::Generic);
  EXPECT_EQ(isa_name(Isa::Avx512CoreAmx), "avx512_core_amx");
  const CpuKernels capped{Isa::Avx2, "avx2", "ONEDNN_MAX_CPU_ISA=AVX2"};
  EXPECT_EQ(describe(capped), "AVX2 (oneDNN avx2, ATen avx2, capped by ONEDNN_MAX_CPU_ISA=AVX2)");
}

TEST(PrecisionChoice, ThisProcessReadsTheCapsItRunsUnder) {
  const CpuKernels cpu = cpu_kernels();
  if (const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA")) {
    EXPECT_LE(cpu.onednn, parse_isa(cap)) << describe(cpu);
    EXPECT_NE(cpu.cap.find(std::string("ONEDNN_MAX_CPU_ISA=") + cap), std::string::npos) << cpu.cap;
  }
  if (const char* aten = std::getenv("ATEN_CPU_CAPABILITY")) {
    EXPECT_EQ(cpu.aten, aten) << describe(cpu);
  }
  EXPECT_NE(cpu.aten, "unknown");
  // Where bf16 runs in hardware without AMX, it was measured on this CPU.
  if (cpu.onednn == Isa::Avx512CoreBf16) {
    EXPECT_GT(cpu.bf16_speedup, 0.0) << describe(cpu);
  }
  // What the process offers is the policy applied to what it reads.
  EXPECT_EQ(default_precision(at::kCPU), cpu_default_precision(cpu));
  EXPECT_TRUE(offer(precision_offers(at::kCPU), default_precision(at::kCPU)).available);
}

LoadedModel tiny_model() { return load_model(data_path("models/tiny224-cls")); }

TEST(PrecisionChoice, ASessionRunsBf16OnlyWhereItIsHonoured) {
  const std::string why = unavailable_on_this_cpu(Precision::BF16);
  if (why.empty()) {
    const InferenceSession session(tiny_model(), {"cpu", Precision::BF16});
    EXPECT_EQ(session.precision(), Precision::BF16);
    return;
  }
  // One line naming bf16, this CPU's ISA and what to use instead; never a library's message.
  const std::string error = error_of([] { InferenceSession session(tiny_model(), {"cpu", Precision::BF16}); });
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("bf16"), std::string::npos) << error;
  EXPECT_NE(error.find(isa_name(cpu_kernels().onednn)), std::string::npos) << error;
  EXPECT_NE(error.find("use fp32"), std::string::npos) << error;
}

TEST(PrecisionChoice, FrontEndsThatMustOpenFallBackWithANote) {
  const PrecisionChoice fp16 = choose_precision(at::kCPU, Precision::FP16);
  EXPECT_EQ(fp16.precision, default_precision(at::kCPU));
  EXPECT_NE(fp16.note.find("fp16"), std::string::npos) << fp16.note;
  EXPECT_NE(fp16.note.find(std::string("using ") + to_string(fp16.precision)), std::string::npos) << fp16.note;
  EXPECT_EQ(choose_precision(at::kCPU, Precision::FP32).note, "");
  EXPECT_EQ(choose_precision(at::kCPU, std::nullopt).note, "");
  const PrecisionChoice bf16 = choose_precision(at::kCPU, Precision::BF16);
  EXPECT_EQ(bf16.note.empty(), unavailable_on_this_cpu(Precision::BF16).empty()) << bf16.note;

  // The app's path: a saved bf16 opens the model anyway, saying what it runs instead.
  Workbench bench;
  WorkbenchOptions options;
  options.device = "cpu";
  options.precision = "fp16";
  options.precision_fallback = true;
  const ModelDescription& d = bench.load_model(data_path("models/tiny224-cls").string(), options);
  EXPECT_EQ(d.precision, to_string(default_precision(at::kCPU)));
  EXPECT_NE(d.precision_note.find("fp16"), std::string::npos) << d.precision_note;
  options.precision_fallback = false;
  EXPECT_NE(error_of([&] { bench.load_model(data_path("models/tiny224-cls").string(), options); }).find("fp16"),
            std::string::npos);
}

}  // namespace
