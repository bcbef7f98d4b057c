#include <dnnl.hpp>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "common/error.h"
#include "kernels/avx2_gemm.h"
#include "kernels/cpu_isa.h"
#include "kernels/fused_cpu_encoder.h"

namespace msnlens {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::dim dim(std::int64_t v) { return static_cast<memory::dim>(v); }

// transformers' hidden_act as oneDNN eltwise post-ops: {algorithm, alpha, beta} in order.
struct Eltwise {
  dnnl::algorithm algorithm;
  float alpha = 0.f, beta = 0.f;
};

bool activation_post_ops(const std::string& name, std::vector<Eltwise>* ops) {
  if (name == "gelu") *ops = {{dnnl::algorithm::eltwise_gelu_erf}};
  // gelu_new writes out the same tanh approximation nn.GELU(approximate="tanh") computes.
  else if (name == "gelu_new" || name == "gelu_pytorch_tanh") *ops = {{dnnl::algorithm::eltwise_gelu_tanh}};
  else if (name == "relu") *ops = {{dnnl::algorithm::eltwise_relu}};
  else if (name == "silu") *ops = {{dnnl::algorithm::eltwise_swish, 1.f}};
  else if (name == "quick_gelu") *ops = {{dnnl::algorithm::eltwise_swish, 1.702f}};
  else if (name == "selu")  // scale * elu(x, alpha), with torch's constants
    *ops = {{dnnl::algorithm::eltwise_elu, 1.6732632423543772f}, {dnnl::algorithm::eltwise_linear, 1.0507009873554805f}};
  else return false;
  return true;
}

// A GEMM weight [out, in] as oneDNN's [in, out] matrix, reordered into `layout`.
memory reordered_weight(const at::Tensor& weight, const memory::desc& layout, dt type) {
  const at::Tensor w = weight.to(at::kCPU, type == dt::bf16 ? at::kBFloat16 : at::kFloat).contiguous();
  memory plain({{dim(w.size(1)), dim(w.size(0))}, type, tag::ba}, cpu_engine(), w.data_ptr());
  memory blocked(layout, cpu_engine());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(plain, blocked).execute(stream, plain, blocked);
  stream.wait();
  return blocked;
}

// A float32 vector kept by the encoder (biases, LayerNorm parameters).
at::Tensor host_f32(const at::Tensor& t) { return t.defined() ? t.to(at::kCPU, at::kFloat).contiguous().clone() : t; }

// The QKV weight or bias with q's rows (the first `hidden`) times `scale`: the attention scale
// 1/sqrt(d_head) applied by the QKV GEMM. As an output scale of q k^T it sent oneDNN 2.6's
// gemm:jit down a path 9x slower (0.67 against 0.07 ms for a ViT-S layer at bf16, AMX Xeon).
// For d_head a power of 4 (64 in every released ViT-MSN) the scale is a power of 2: exact.
at::Tensor q_scaled(const at::Tensor& t, std::int64_t hidden, double scale) {
  if (!t.defined()) return t;
  at::Tensor out = host_f32(t);
  out.narrow(0, 0, hidden).mul_(scale);
  return out;
}

memory wrap(const memory::desc& desc, const at::Tensor& t, std::int64_t offset_elements = 0) {
  auto* base = static_cast<char*>(t.data_ptr()) + offset_elements * static_cast<std::int64_t>(t.element_size());
  return memory(desc, cpu_engine(), base);
}

dt to_dnnl(Precision p) { return p == Precision::BF16 ? dt::bf16 : dt::f32; }

// float -> bf16 with round-to-nearest-even, as c10::BFloat16 and oneDNN's reorders round.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// LayerNorm of float32 rows straight into the GEMM's input type. oneDNN 2.6's layer norm
// wants one type in and out, which would cost a separate float32 -> bf16 pass per norm.
// Statistics in float32, two passes (mean, then squared deviations), like ATen's CPU kernel.
// Plain functions with target_clones: the compiler vectorises each for AVX-512 and AVX2 and
// picks one at load (clang does not clone templates).
struct RowStats {
  float mean, inv_std;
};

__attribute__((target_clones("avx512f", "avx2", "default")))
RowStats row_stats(const float* x, std::int64_t n, float eps) {
  // 16 running sums: a fixed lane order the compiler can vectorise without -ffast-math.
  constexpr int kLanes = 16;
  const std::int64_t body = n - n % kLanes;
  float lanes[kLanes] = {};
  for (std::int64_t i = 0; i < body; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  float sum = 0.f;
  for (std::int64_t i = body; i < n; ++i) sum += x[i];
  for (const float l : lanes) sum += l;
  const float mean = sum / static_cast<float>(n);
  for (float& l : lanes) l = 0.f;
  for (std::int64_t i = 0; i < body; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += (x[i + j] - mean) * (x[i + j] - mean);
  float squares = 0.f;
  for (std::int64_t i = body; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
  for (const float l : lanes) squares += l;
  return {mean, 1.f / std::sqrt(squares / static_cast<float>(n) + eps)};
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void normalize_row(const float* x, const float* weight, const float* bias, RowStats st, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = (x[i] - st.mean) * st.inv_std * weight[i] + bias[i];
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void normalize_row(const float* x, const float* weight, const float* bias, RowStats st, std::int64_t n,
                   std::uint16_t* out) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = to_bf16((x[i] - st.mean) * st.inv_std * weight[i] + bias[i]);
}

// x: [rows, n] float32.
template <typename Out>
void layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, float eps, Out* out) {
  const std::int64_t rows = x.size(0), n = x.size(1);
  const float *px = x.data_ptr<float>(), *w = weight.data_ptr<float>(), *b = bias.data_ptr<float>();
  at::parallel_for(0, rows, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) normalize_row(px + r * n, w, b, row_stats(px + r * n, n, eps), n, out + r * n);
  });
}

class OnednnEncoder final : public FusedCpuEncoder {
 public:
  OnednnEncoder(const std::vector<EncoderLayerWeights>& layers, const EncoderSpec& spec, Precision precision,
                std::vector<Eltwise> activation)
      : spec_(spec), type_(to_dnnl(precision)), activation_(std::move(activation)) {
    const at::Tensor& first = layers.front().qkv_weight;
    hidden_ = first.size(1);
    inner_ = layers.front().fc1_weight.size(0);
    qkv_bias_ = layers.front().qkv_bias.defined();
    const double q_scale = 1.0 / std::sqrt(static_cast<double>(hidden_ / spec.num_heads));
    // Below AVX-512, oneDNN 2.6 runs float32 GEMMs on gemm:jit, which repacks the weights on
    // every call (110-130 GFLOP/s in the encoder here, against a 223 GFLOP/s AVX2 FMA peak); our
    // own AVX2 kernels keep them packed and reach 90 % of the peak. Its GELU epilogue is the erf
    // form: other activations stay on oneDNN.
    own_avx2_ = type_ == dt::f32 && onednn_effective_isa() < Isa::Avx512Core && avx2_gemm_available() &&
                spec.activation == "gelu";
    if (own_avx2_) {
      kernels_ = "msnlens:avx2_fma";
      for (const EncoderLayerWeights& l : layers) {
        Layer p = layer_vectors(l, q_scale);
        p.qkv_own = packed(q_scaled(l.qkv_weight, hidden_, q_scale)), p.proj_own = packed(l.proj_weight);
        p.fc1_own = packed(l.fc1_weight), p.fc2_own = packed(l.fc2_weight);
        for (const PackedLinearWeights* w : {&p.qkv_own, &p.proj_own, &p.fc1_own, &p.fc2_own}) weight_bytes_ += w->bytes();
        layers_.push_back(std::move(p));
      }
      return;
    }
    // The layouts the kernels want for the usual sequence length; plans for other lengths
    // reuse them (oneDNN's blocked weight layouts depend on K, N and the ISA, not on M).
    const memory::dim m = dim(spec.tokens);
    layouts_.qkv = linear_desc(m, hidden_, 3 * hidden_, {}, false, type_, nullptr, qkv_bias_).weights_desc();
    layouts_.proj = linear_desc(m, hidden_, hidden_, {}, true, dt::f32).weights_desc();
    const dnnl::matmul::primitive_desc fc1 = linear_desc(m, hidden_, inner_, activation_, false, type_);
    layouts_.fc1 = fc1.weights_desc();
    kernels_ = fc1.impl_info_str();
    layouts_.fc2 = linear_desc(m, inner_, hidden_, {}, true, dt::f32).weights_desc();
    for (const EncoderLayerWeights& l : layers) {
      Layer p = layer_vectors(l, q_scale);
      p.qkv = reordered_weight(q_scaled(l.qkv_weight, hidden_, q_scale), layouts_.qkv, type_);
      p.proj = reordered_weight(l.proj_weight, layouts_.proj, type_);
      p.fc1 = reordered_weight(l.fc1_weight, layouts_.fc1, type_);
      p.fc2 = reordered_weight(l.fc2_weight, layouts_.fc2, type_);
      for (const memory* w : {&p.qkv, &p.proj, &p.fc1, &p.fc2}) weight_bytes_ += w->get_desc().get_size();
      layers_.push_back(std::move(p));
    }
  }

  at::Tensor forward(const at::Tensor& input, const at::Tensor& head_mask, std::vector<at::Tensor>* hidden,
                     std::vector<at::Tensor>* attentions, std::size_t first, std::size_t last) const override {
    if (input.dim() != 3 || hidden_ != input.size(2)) fail("fused encoder", "input must be [batch, tokens, hidden]");
    const std::int64_t b = input.size(0), t = input.size(1), d = hidden_, heads = spec_.num_heads;
    at::Tensor mask = head_mask.defined() ? head_mask.to(at::kCPU, at::kFloat).contiguous() : head_mask;
    std::lock_guard<std::mutex> lock(mutex_);
    const std::int64_t m = b * t;
    // Masked views give every edit its own token count. The row-wise GEMMs run on rows rounded
    // up to a bucket, so their JIT-compiled kernels (~1 ms each to build) serve many counts;
    // the extra rows are computed and ignored. The usual length runs unpadded.
    // Our own kernels compile nothing per shape: they run the exact rows.
    const std::int64_t rows = t == spec_.tokens || own_avx2_ ? m : (m + kRowBucket - 1) / kRowBucket * kRowBucket;
    const RowPlan& rp = row_plan(rows);
    const AttentionPlan& ap = attention_plan(b, t, mask.defined());
    const at::ScalarType c = type_ == dt::bf16 ? at::kBFloat16 : at::kFloat;
    const bool convert = type_ == dt::bf16;
    const auto f32 = at::TensorOptions().dtype(at::kFloat);

    const at::Tensor normed_c = at::empty({rows, d}, c);
    const at::Tensor qkv = at::empty({rows, 3 * d}, c);
    const at::Tensor scores = at::empty({b, heads, t, t}, f32);
    // Without kept maps, float32 softmax runs in place and bf16 writes its GEMM input directly.
    const at::Tensor probs_c = convert ? at::empty({b, heads, t, t}, c) : scores;
    // Attention writes the first m rows only: the padding stays zero, so every row is finite.
    const at::Tensor context = rows > m ? at::zeros({rows, d}, c) : at::empty({rows, d}, c);
    const at::Tensor mid = at::empty({rows, d}, f32);
    const at::Tensor inner = at::empty({rows, inner_}, c);
    // The residual stream: the input itself (only ever read), or a zero-padded copy.
    at::Tensor x = input.to(at::kCPU, at::kFloat).reshape({m, d}).contiguous();
    if (rows > m) x = at::cat({x, at::zeros({rows - m, d}, f32)});

    dnnl::stream s(cpu_engine());
    const memory m_normed_c = wrap(rp.rows_c, normed_c), m_qkv = wrap(rp.qkv_out, qkv);
    const memory m_q = wrap(ap.q, qkv), m_kt = wrap(ap.kt, qkv, d), m_v = wrap(ap.v, qkv, 2 * d);
    const memory m_scores = wrap(ap.scores, scores), m_probs_c = wrap(ap.probs_c, probs_c);
    const memory m_context = wrap(ap.context, context), m_context_rows = wrap(rp.rows_c, context);
    const memory m_mid = wrap(rp.rows_f32, mid), m_inner = wrap(rp.inner, inner);

    const auto eps = static_cast<float>(spec_.layer_norm_eps);
    auto norm = [&](const at::Tensor& src, const at::Tensor& weight, const at::Tensor& bias) {
      if (convert) layer_norm(src, weight, bias, eps, static_cast<std::uint16_t*>(normed_c.data_ptr()));
      else layer_norm(src, weight, bias, eps, normed_c.data_ptr<float>());
    };
    // GEMMs on our AVX2 kernels: src [rows, k] and dst [rows, n] contiguous float32.
    auto own_linear = [&](const at::Tensor& src, const PackedLinearWeights& w, const at::Tensor& bias, GemmEpilogue e,
                          const at::Tensor& residual, const at::Tensor& dst) {
      avx2_linear(src.data_ptr<float>(), rows, w.k(), w, bias.defined() ? bias.data_ptr<float>() : nullptr, e,
                  residual.defined() ? residual.data_ptr<float>() : nullptr, w.n(), dst.data_ptr<float>(), w.n());
    };
    auto linear = [&](const dnnl::matmul& mm, const memory& src, const memory& weight, const at::Tensor& bias,
                      const memory& dst, const memory* residual) {
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weight}, {DNNL_ARG_DST, dst}};
      if (bias.defined()) args[DNNL_ARG_BIAS] = wrap(memory::desc({1, dim(bias.size(0))}, dt::f32, tag::ab), bias);
      if (residual) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = *residual;
      mm.execute(s, args);
    };
    auto tokens = [&](const at::Tensor& r) { return r.narrow(0, 0, m).view({b, t, d}); };
    // Nothing keeps the float32 probabilities: softmax writes the bf16 input of p.v itself.
    const bool softmax_to_c = convert && !attentions && !mask.defined();

    for (std::size_t i = first; i < std::min(last, layers_.size()); ++i) {
      const Layer& l = layers_[i];
      const memory m_x = wrap(rp.rows_f32, x);
      // Attention: x + proj(softmax(q k^T / sqrt(d_head)) v), q, k, v read in place from qkv.
      norm(x, l.norm1_weight, l.norm1_bias);
      if (own_avx2_) own_linear(normed_c, l.qkv_own, l.qkv_bias, GemmEpilogue::Bias, {}, qkv);
      else linear(rp.qkv, m_normed_c, l.qkv, l.qkv_bias, m_qkv, nullptr);
      ap.scores_mm.execute(s, {{DNNL_ARG_SRC, m_q}, {DNNL_ARG_WEIGHTS, m_kt}, {DNNL_ARG_DST, m_scores}});
      at::Tensor probs;  // float32, when kept
      memory m_p;
      if (attentions) {
        probs = at::empty({b, heads, t, t}, f32);
        m_p = wrap(ap.scores, probs);
        ap.softmax_f32.execute(s, {{DNNL_ARG_SRC, m_scores}, {DNNL_ARG_DST, m_p}});
      } else if (softmax_to_c) {
        ap.softmax_to_c.execute(s, {{DNNL_ARG_SRC, m_scores}, {DNNL_ARG_DST, m_probs_c}});
      } else {
        m_p = m_scores;
        ap.softmax_f32.execute(s, {{DNNL_ARG_SRC, m_scores}, {DNNL_ARG_DST, m_scores}});
      }
      if (mask.defined()) {
        const memory m_mask = wrap(ap.head_mask, mask, static_cast<std::int64_t>(i) * heads);
        ap.apply_mask.execute(s, {{DNNL_ARG_SRC_0, m_p}, {DNNL_ARG_SRC_1, m_mask}, {DNNL_ARG_DST, m_p}});
      }
      if (convert && !softmax_to_c) ap.probs_to_c.execute(s, {{DNNL_ARG_FROM, m_p}, {DNNL_ARG_TO, m_probs_c}});
      ap.context_mm.execute(s, {{DNNL_ARG_SRC, convert ? m_probs_c : m_p}, {DNNL_ARG_WEIGHTS, m_v},
                                {DNNL_ARG_DST, m_context}});
      // oneDNN runs asynchronously on its stream: our kernels read what it wrote.
      if (own_avx2_) s.wait(), own_linear(context, l.proj_own, l.proj_bias, GemmEpilogue::BiasResidual, x, mid);
      else linear(rp.proj, m_context_rows, l.proj, l.proj_bias, m_mid, &m_x);
      // MLP: mid + fc2(act(fc1(LN(mid)))), the activation a post-op of fc1.
      norm(mid, l.norm2_weight, l.norm2_bias);
      at::Tensor out = at::empty({rows, d}, f32);
      if (own_avx2_) {
        own_linear(normed_c, l.fc1_own, l.fc1_bias, GemmEpilogue::BiasGeluErf, {}, inner);
        own_linear(inner, l.fc2_own, l.fc2_bias, GemmEpilogue::BiasResidual, mid, out);
      } else {
        linear(rp.fc1, m_normed_c, l.fc1, l.fc1_bias, m_inner, nullptr);
        linear(rp.fc2, m_inner, l.fc2, l.fc2_bias, wrap(rp.rows_f32, out), &m_mid);
      }
      s.wait();
      if (attentions) attentions->push_back(probs);
      if (hidden) hidden->push_back(tokens(out));
      x = out;
    }
    return tokens(x);
  }

  std::string kernels() const override { return kernels_; }
  std::size_t weight_bytes() const override { return weight_bytes_; }

 private:
  static constexpr std::int64_t kRowBucket = 16;

  struct Layer {
    memory qkv, proj, fc1, fc2;  // blocked layouts (oneDNN's GEMMs)
    PackedLinearWeights qkv_own, proj_own, fc1_own, fc2_own;  // panels (our AVX2 GEMMs)
    at::Tensor qkv_bias, proj_bias, fc1_bias, fc2_bias;
    at::Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
  };

  // The row-wise GEMMs for a number of rows (tokens of the whole batch, padded).
  struct RowPlan {
    memory::desc rows_f32, rows_c, qkv_out, inner;
    dnnl::matmul qkv, proj, fc1, fc2;
  };
  // Attention for a batch and sequence length: cheap to build (no per-shape GEMM kernels).
  struct AttentionPlan {
    memory::desc q, kt, v, scores, probs_c, context, head_mask;
    dnnl::reorder probs_to_c;
    dnnl::matmul scores_mm, context_mm;
    dnnl::softmax_v2_forward softmax_f32, softmax_to_c;
    dnnl::binary apply_mask;
  };

  // A [M, K] x [K, N] GEMM with bias, then `eltwise` post-ops, then (residual) a float32 add
  // of a [M, N] tensor; the destination is float32 with a residual, else the compute type.
  dnnl::matmul::primitive_desc linear_desc(memory::dim m, std::int64_t k, std::int64_t n,
                                           const std::vector<Eltwise>& eltwise, bool residual, dt out,
                                           const memory::desc* weights = nullptr, bool with_bias = true) const {
    const memory::desc src({m, dim(k)}, type_, tag::ab), dst({m, dim(n)}, out, tag::ab);
    const memory::desc any_weights({dim(k), dim(n)}, type_, tag::any), bias({1, dim(n)}, dt::f32, tag::ab);
    dnnl::post_ops ops;
    for (const Eltwise& e : eltwise) ops.append_eltwise(1.f, e.algorithm, e.alpha, e.beta);
    if (residual) ops.append_binary(dnnl::algorithm::binary_add, memory::desc({m, dim(n)}, dt::f32, tag::ab));
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const memory::desc& w = weights ? *weights : any_weights;
    if (!with_bias) return {dnnl::matmul::desc(src, w, dst), attr, cpu_engine()};
    return {dnnl::matmul::desc(src, w, bias, dst), attr, cpu_engine()};
  }

  const RowPlan& row_plan(std::int64_t rows) const {
    if (auto it = row_plans_.find(rows); it != row_plans_.end()) return *it->second;
    if (row_plans_.size() >= 64) row_plans_.clear();
    const std::int64_t d = hidden_;
    const memory::dim m = dim(rows), D = dim(d);
    auto plan = std::make_unique<RowPlan>();
    RowPlan& p = *plan;
    p.rows_f32 = {{m, D}, dt::f32, tag::ab};
    p.rows_c = {{m, D}, type_, tag::ab};
    p.qkv_out = {{m, 3 * D}, type_, tag::ab};
    p.inner = {{m, dim(inner_)}, type_, tag::ab};
    if (!own_avx2_) {
      p.qkv = dnnl::matmul(linear_desc(m, d, 3 * d, {}, false, type_, &layouts_.qkv, qkv_bias_));
      p.proj = dnnl::matmul(linear_desc(m, d, d, {}, true, dt::f32, &layouts_.proj));
      p.fc1 = dnnl::matmul(linear_desc(m, d, inner_, activation_, false, type_, &layouts_.fc1));
      p.fc2 = dnnl::matmul(linear_desc(m, inner_, d, {}, true, dt::f32, &layouts_.fc2));
    }
    return *row_plans_.emplace(rows, std::move(plan)).first->second;
  }

  const AttentionPlan& attention_plan(std::int64_t b, std::int64_t t, bool masked) const {
    const auto key = std::make_tuple(b, t, masked);
    if (auto it = attention_plans_.find(key); it != attention_plans_.end()) return *it->second;
    if (attention_plans_.size() >= 256) attention_plans_.clear();
    const std::int64_t d = hidden_, heads = spec_.num_heads, hd = d / heads;
    const memory::dim B = dim(b), T = dim(t), H = dim(heads), HD = dim(hd), D = dim(d);
    auto plan = std::make_unique<AttentionPlan>();
    AttentionPlan& p = *plan;
    // Views into the QKV output [B, T, 3, H, hd], as [B, H, T, hd] and k^T as [B, H, hd, T].
    p.q = {{B, H, T, HD}, type_, memory::dims{T * 3 * D, HD, 3 * D, 1}};
    p.kt = {{B, H, HD, T}, type_, memory::dims{T * 3 * D, HD, 1, 3 * D}};
    p.v = p.q;
    p.scores = {{B, H, T, T}, dt::f32, tag::abcd};
    p.probs_c = {{B, H, T, T}, type_, tag::abcd};
    // The context lands as [B, T, H, hd], i.e. already the [M, D] rows the output GEMM reads.
    p.context = {{B, H, T, HD}, type_, memory::dims{T * D, HD, D, 1}};
    p.head_mask = {{1, H, 1, 1}, dt::f32, tag::abcd};

    using dnnl::prop_kind;
    if (type_ != dt::f32) {
      p.probs_to_c = dnnl::reorder({cpu_engine(), p.scores, cpu_engine(), p.probs_c});
      p.softmax_to_c = dnnl::softmax_v2_forward(
          {{prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, p.scores, p.probs_c, 3}, cpu_engine()});
    }
    // q arrives scaled by 1/sqrt(d_head) (q_scaled).
    p.scores_mm = dnnl::matmul({dnnl::matmul::desc(p.q, p.kt, p.scores), cpu_engine()});
    p.context_mm = dnnl::matmul({dnnl::matmul::desc(type_ == dt::f32 ? p.scores : p.probs_c, p.v, p.context), cpu_engine()});
    p.softmax_f32 = dnnl::softmax_v2_forward(
        {{prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, p.scores, p.scores, 3}, cpu_engine()});
    if (masked)
      p.apply_mask = dnnl::binary({{dnnl::algorithm::binary_mul, p.scores, p.head_mask, p.scores}, cpu_engine()});
    return *attention_plans_.emplace(key, std::move(plan)).first->second;
  }

  // The float32 weights and LayerNorm parameters a layer keeps whatever runs its GEMMs.
  static Layer layer_vectors(const EncoderLayerWeights& l, double q_scale) {
    Layer p;
    p.norm1_weight = host_f32(l.norm1_weight), p.norm1_bias = host_f32(l.norm1_bias);
    p.norm2_weight = host_f32(l.norm2_weight), p.norm2_bias = host_f32(l.norm2_bias);
    p.qkv_bias = q_scaled(l.qkv_bias, l.qkv_weight.size(1), q_scale), p.proj_bias = host_f32(l.proj_bias);
    p.fc1_bias = host_f32(l.fc1_bias), p.fc2_bias = host_f32(l.fc2_bias);
    return p;
  }
  static PackedLinearWeights packed(const at::Tensor& weight) {
    const at::Tensor w = weight.to(at::kCPU, at::kFloat).contiguous();
    return PackedLinearWeights(w.data_ptr<float>(), w.size(0), w.size(1));
  }

  EncoderSpec spec_;
  dt type_;
  bool own_avx2_ = false;
  std::vector<Eltwise> activation_;
  std::int64_t hidden_ = 0, inner_ = 0;
  bool qkv_bias_ = false;
  struct {
    memory::desc qkv, proj, fc1, fc2;
  } layouts_;
  std::vector<Layer> layers_;
  std::string kernels_;
  std::size_t weight_bytes_ = 0;
  mutable std::mutex mutex_;
  mutable std::map<std::int64_t, std::unique_ptr<RowPlan>> row_plans_;
  mutable std::map<std::tuple<std::int64_t, std::int64_t, bool>, std::unique_ptr<AttentionPlan>> attention_plans_;
};

}  // namespace

std::unique_ptr<FusedCpuEncoder> FusedCpuEncoder::create(const std::vector<EncoderLayerWeights>& layers,
                                                         const EncoderSpec& spec, Precision precision,
                                                         std::string* why) {
  std::vector<Eltwise> activation;
  if (layers.empty()) {
    *why = "the model has no layers";
    return nullptr;
  }
  if (precision != Precision::FP32 && precision != Precision::BF16) {
    *why = std::string("no fused CPU kernels for ") + to_string(precision);
    return nullptr;
  }
  if (precision == Precision::BF16 && !has_bf16_gemms(onednn_effective_isa())) {
    *why = "no bf16 kernels in oneDNN below avx512_core (this CPU runs " + isa_name(onednn_effective_isa()) + ")";
    return nullptr;
  }
  if (!activation_post_ops(spec.activation, &activation)) {
    *why = "no fused kernel for hidden_act \"" + spec.activation + "\"";
    return nullptr;
  }
  try {
    return std::make_unique<OnednnEncoder>(layers, spec, precision, std::move(activation));
  } catch (const dnnl::error& e) {
    // A shape or post-op this oneDNN has no implementation for.
    *why = std::string("oneDNN: ") + e.what();
    return nullptr;
  }
}

double bf16_layer_speedup() {
  static const double speedup = [] {
    if (!has_bf16_gemms(onednn_effective_isa())) return 0.0;
    const std::int64_t d = 384, inner = 1536;
    at::manual_seed(0);
    auto weight = [](std::int64_t out, std::int64_t in) { return at::randn({out, in}) * 0.02; };
    EncoderLayerWeights w{at::ones({d}), at::zeros({d}), weight(3 * d, d), at::zeros({3 * d}), weight(d, d), at::zeros({d}),
                          at::ones({d}), at::zeros({d}), weight(inner, d), at::zeros({inner}), weight(d, inner), at::zeros({d})};
    const EncoderSpec spec{6, 1e-6, "gelu", 197};
    std::string why;
    const auto fp32 = FusedCpuEncoder::create({w}, spec, Precision::FP32, &why);
    const auto bf16 = FusedCpuEncoder::create({w}, spec, Precision::BF16, &why);
    if (!fp32 || !bf16) return 0.0;
    const at::Tensor x = at::randn({1, 197, d});
    auto seconds = [&](const FusedCpuEncoder& e) {
      const auto start = std::chrono::steady_clock::now();
      e.forward(x, {}, nullptr, nullptr, 0, 1);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    for (int i = 0; i < 2; ++i) seconds(*fp32), seconds(*bf16);  // kernels compiled, caches warm
    double best32 = 1e9, best16 = 1e9;
    for (int i = 0; i < 5; ++i) best32 = std::min(best32, seconds(*fp32)), best16 = std::min(best16, seconds(*bf16));
    return best32 / best16;
  }();
  return speedup;
}

Isa onednn_effective_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return Isa::Sse41;
    case dnnl::cpu_isa::avx: return Isa::Avx;
    case dnnl::cpu_isa::avx2: return Isa::Avx2;
    case dnnl::cpu_isa::avx2_vnni: return Isa::Avx2Vnni;
    case dnnl::cpu_isa::avx512_core: return Isa::Avx512Core;
    case dnnl::cpu_isa::avx512_core_vnni: return Isa::Avx512CoreVnni;
    case dnnl::cpu_isa::avx512_core_bf16: return Isa::Avx512CoreBf16;
    case dnnl::cpu_isa::avx512_core_amx: return Isa::Avx512CoreAmx;
    default: break;
  }
  return Isa::Generic;
}

}  // namespace msnlens
