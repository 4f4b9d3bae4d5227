// Convolutions with a frozen weight (mt_conv2d_frozen in mipin_torch.h), which is every convolution of an attribution
// method: the model is frozen, and a saliency gradient is wanted with respect to the image, so each convolution's
// backward computes only its input gradient.
//
// Forward values are always aten::conv2d's to the last bit: on channels-last data the shim runs the same oneDNN
// primitive, with the primitive and the reordered weight kept between calls (cached_direct_conv2d.cpp; libtorch
// reorders every weight on every call), so ReLU gates are PyTorch's. The input gradient is oneDNN's backward-data
// kernel, cached the same way, except in two cases where that kernel is slow and the shim sums the same products in
// another order: the differences are float rounding (about 1e-7 of the largest value per layer), carried linearly
// through the layers below, since the gates they pass are fixed by the forward pass.
//
// - An image's few channels (1-4): one matrix product and a scatter (few_channel_input_gradient.cpp), 2-3x faster.
// - 3x3, stride-1 layers over at least 28x28 pixels in channels-last layout: oneDNN 2.6's backward-data kernel runs
//   up to 2x slower there than the forward kernel over the same arithmetic (batch 8, 2 threads: 512 -> 512 channels
//   at 28x28, 253 ms against 128 ms; 256 -> 512, 127 against 65; 5-10% slower at 56-224 pixels), in PyTorch too. The
//   input gradient of a stride-1 convolution is itself a forward convolution: of the output gradient, with the kernel
//   rotated by 180 degrees and its two channel axes swapped, padded by k-1-p. Below 28x28 the backward kernel is as
//   fast or faster (measured down to 7x7), so those layers keep it.
//
// Without oneDNN's headers (MIPIN_WITH_ONEDNN 0) nothing is cached and image layers keep aten's gradient.

#include "frozen_kernels.h"
#include "mipin_torch.h"
#include "rectifier_in_place.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/native/ConvUtils.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

namespace mipin {

at::Tensor rotated_transposed(const at::Tensor& w, at::MemoryFormat format) {
  const int64_t o = w.size(0), i = w.size(1), kh = w.size(2), kw = w.size(3);
  auto out = at::empty({i, o, kh, kw}, w.options(), format);
  const auto src = w.accessor<float, 4>();
  auto dst = out.accessor<float, 4>();
  // One pass over the weight (at::flip takes several).
  at::parallel_for(0, i, 1, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin; a < end; ++a)
      for (int64_t b = 0; b < o; ++b)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x) dst[a][b][y][x] = src[b][a][kh - 1 - y][kw - 1 - x];
  });
  return out;
}

}  // namespace mipin

namespace {

using mipin::ConvolutionGeometry;

// Inputs with at most this many channels take the matrix-product gradient (grey, RGB, RGBA).
constexpr int64_t kMaxImageChannels = 4;

// 3x3 stride-1 layers over at least this many pixels take the forward-convolution gradient.
constexpr int64_t kMinTransposedPixels = 28 * 28;

enum class InputGradient { Aten, FewChannels, TransposedForward };

InputGradient choose(const at::Tensor& x, const at::Tensor& w, int64_t stride_h, int64_t stride_w) {
#if MIPIN_WITH_ONEDNN
  if (x.size(1) <= kMaxImageChannels) return InputGradient::FewChannels;
#endif
  if (w.size(2) == 3 && w.size(3) == 3 && stride_h == 1 && stride_w == 1 &&
      x.size(2) * x.size(3) >= kMinTransposedPixels && x.is_contiguous(at::MemoryFormat::ChannelsLast))
    return InputGradient::TransposedForward;
  return InputGradient::Aten;
}

// Whether the cached oneDNN primitive takes this convolution: channels-last data (frozen() checked the rest) that
// aten::conv2d itself would hand to oneDNN. For some shapes (1x1 kernels on one thread with fewer than 16 images,
// single small images) aten picks its matrix-product convolution instead, whose rounding differs; those stay aten's.
bool cached(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
            at::IntArrayRef padding, int64_t groups = 1) {
#if MIPIN_WITH_ONEDNN
  if (!x.is_contiguous(at::MemoryFormat::ChannelsLast)) return false;
  const std::vector<int64_t> dilation{1, 1}, output_padding{0, 0};
  return at::native::select_conv_backend(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride,
                                         padding, dilation, false, output_padding, groups) == at::native::ConvBackend::Mkldnn;
#else
  (void)x, (void)w, (void)b, (void)stride, (void)padding, (void)groups;
  return false;
#endif
}

// `post` applied to a convolution's output in place, as the separate op (mt_relu_'s / mt_clip_'s values and backward).
void rectify_after(at::Tensor& out, const mipin::OutputRectifier& post) {
  if (post.kind != mipin::OutputRectifier::Kind::None)
    mipin::rectify_in_place(out, post.kind == mipin::OutputRectifier::Kind::Relu, post.lo, post.hi);
}

// The forward pass: the cached primitive (with `post` inside it) when `use_cache`, else aten::conv2d then `post` as a
// separate in-place op (also while autograd records, so that its backward masks the gradient in place).
at::Tensor forward_pass(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                        at::IntArrayRef padding, int64_t groups, bool use_cache, const mipin::OutputRectifier& post = {}) {
#if MIPIN_WITH_ONEDNN
  if (use_cache) return mipin::cached_direct_forward(x, w, b, stride, padding, groups, mipin::CachedWeight::AsIs, post);
#else
  (void)use_cache;
#endif
  auto out = at::conv2d(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride, padding, {1, 1},
                        groups);
  rectify_after(out, post);
  return out;
}

struct FrozenConv2d : torch::autograd::Function<FrozenConv2d> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const c10::optional<at::Tensor>& b, std::vector<int64_t> stride,
                            std::vector<int64_t> padding, int64_t kind, bool use_cache) {
    auto out = forward_pass(x, w, b.value_or(at::Tensor()), stride, padding, 1, use_cache);
    ctx->save_for_backward({w});
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["channels_last"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["kind"] = kind;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto w = ctx->get_saved_variables()[0];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto padding = ctx->saved_data["padding"].toIntVector();
    const auto format = ctx->saved_data["channels_last"].toBool() ? at::MemoryFormat::ChannelsLast
                                                                  : at::MemoryFormat::Contiguous;
    auto kind = static_cast<InputGradient>(ctx->saved_data["kind"].toInt());
    // A double backward (create_graph) needs a differentiable input gradient: aten's is.
    const bool differentiable = c10::GradMode::is_enabled();
    if (differentiable) kind = InputGradient::Aten;
    const auto& grad = grads[0];
    at::Tensor grad_x;
    if (grad.defined() && ctx->needs_input_grad(0)) {
      switch (kind) {
#if MIPIN_WITH_ONEDNN
        case InputGradient::FewChannels: {
          const ConvolutionGeometry g{sizes[0],     sizes[1],     sizes[2],  sizes[3],  w.size(0),  w.size(2), w.size(3),
                                      grad.size(2), grad.size(3), stride[0], stride[1], padding[0], padding[1]};
          grad_x = mipin::few_channel_input_gradient(grad, w, g, format);
          break;
        }
#endif
        case InputGradient::TransposedForward: {
          const std::vector<int64_t> pad{w.size(2) - 1 - padding[0], w.size(3) - 1 - padding[1]};
#if MIPIN_WITH_ONEDNN
          grad_x = mipin::cached_direct_forward(grad.contiguous(at::MemoryFormat::ChannelsLast), w, at::Tensor(),
                                                {1, 1}, pad, 1, mipin::CachedWeight::RotatedTransposed);
#else
          grad_x = at::conv2d(grad, mipin::rotated_transposed(w, format), c10::nullopt, {1, 1}, pad);
#endif
          break;
        }
        default: {
#if MIPIN_WITH_ONEDNN
          if (!differentiable && format == at::MemoryFormat::ChannelsLast) {
            grad_x = mipin::cached_direct_backward_data(grad, w, sizes, stride, padding);
            break;
          }
#endif
          auto shape_only = at::empty(sizes, grad.options(), format);
          grad_x = std::get<0>(at::convolution_backward(grad, shape_only, w, c10::nullopt, stride, padding, {1, 1},
                                                        false, {0, 0}, 1, {true, false, false}));
        }
      }
    }
    // One entry per forward argument; the weight and bias are frozen (the path is only taken then).
    return {grad_x, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Whether the shim's path may take this call: CPU float32 4-D data, a frozen weight (O x C/groups x kh x kw) and bias.
// The forward pass validates the rest (aten::conv2d's errors).
bool frozen(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t groups = 1) {
  const auto plain = [](const at::Tensor& t) {
    return t.layout() == at::kStrided && t.device().is_cpu() && t.scalar_type() == at::kFloat && !t.requires_grad();
  };
  return x.layout() == at::kStrided && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 &&
         plain(w) && w.dim() == 4 && groups >= 1 && x.size(1) == w.size(1) * groups && w.size(0) % groups == 0 &&
         (!b.defined() || plain(b));
}

// The convolution, then `post` in place (mt_conv2d_frozen, mt_conv2d_frozen_rectified): the frozen path where it
// applies, else aten::conv2d. Without autograd, on the cached path, `post` runs inside the convolution; while autograd
// records it stays the separate in-place op, whose backward masks the gradient in place (a fused node would copy it).
// Grouped convolutions (MobileNetV2's depthwise layers) take the cached path without autograd only: their input
// gradient is aten's.
at::Tensor frozen_conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride_h,
                         int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups,
                         const mipin::OutputRectifier& post) {
  const std::vector<int64_t> stride{stride_h, stride_w}, padding{pad_h, pad_w};
  const bool recording = c10::GradMode::is_enabled() && x.requires_grad();
  if (groups != 1) {
    const bool use_cache = !recording && frozen(x, w, b, groups) && cached(x, w, b, stride, padding, groups);
    return forward_pass(x, w, b, stride, padding, groups, use_cache, post);
  }
  if (frozen(x, w, b)) {
    const auto kind = recording ? choose(x, w, stride_h, stride_w) : InputGradient::Aten;
    const bool use_cache = cached(x, w, b, stride, padding);
    if (!recording) return forward_pass(x, w, b, stride, padding, 1, use_cache, post);
    if (kind != InputGradient::Aten || use_cache) {
      auto out = FrozenConv2d::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride, padding,
                                     static_cast<int64_t>(kind), use_cache);
      rectify_after(out, post);
      return out;
    }
  }
  return forward_pass(x, w, b, stride, padding, 1, false, post);
}

// conv2d + acc, then `post` (mt_conv2d_frozen_accumulate). Without autograd, on the cached path, one oneDNN kernel
// writes the sum into acc itself; otherwise the frozen convolution, an in-place add into its fresh output, and the
// rectifier, as separate ops with their values and backward (acc is then left as it was).
at::Tensor frozen_conv2d_accumulate(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                                    const at::Tensor& acc, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                    int64_t pad_w, const mipin::OutputRectifier& post) {
#if MIPIN_WITH_ONEDNN
  const std::vector<int64_t> stride{stride_h, stride_w}, padding{pad_h, pad_w};
  const bool recording = c10::GradMode::is_enabled() && (x.requires_grad() || acc.requires_grad());
  if (!recording && frozen(x, w, b) && cached(x, w, b, stride, padding)) {
    auto out = mipin::cached_direct_forward(x, w, b, stride, padding, 1, mipin::CachedWeight::AsIs, post, acc);
    if (out.defined()) return out;
  }
#endif
  auto out = frozen_conv2d(x, w, b, stride_h, stride_w, pad_h, pad_w, 1, {});
  out.add_(acc);
  rectify_after(out, post);
  return out;
}

}  // namespace

int mt_conv2d_frozen(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                     int64_t pad_h, int64_t pad_w, mt_tensor* out) {
  const int status = mipin::guarded([&] {
    *out = mipin::new_handle(frozen_conv2d(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                           mipin::optional_tensor(bias), stride_h, stride_w, pad_h, pad_w, 1, {}));
  });
  // Named as mt_op_call names aten::conv2d, so errors read the same on either path.
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_conv2d_frozen_rectified(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                               int64_t pad_h, int64_t pad_w, int64_t groups, int32_t relu, double lo, double hi,
                               mt_tensor* out) {
  const int status = mipin::guarded([&] {
    mipin::OutputRectifier post;
    post.kind = relu != 0 ? mipin::OutputRectifier::Kind::Relu : mipin::OutputRectifier::Kind::Clip;
    post.lo = lo;
    post.hi = hi;
    *out = mipin::new_handle(frozen_conv2d(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                           mipin::optional_tensor(bias), stride_h, stride_w, pad_h, pad_w, groups,
                                           post));
  });
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_conv2d_frozen_accumulate(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                int64_t stride_w, int64_t pad_h, int64_t pad_w, mt_tensor accumulator, int32_t relu,
                                mt_tensor* out) {
  const int status = mipin::guarded([&] {
    mipin::OutputRectifier post;
    if (relu != 0) post.kind = mipin::OutputRectifier::Kind::Relu;
    *out = mipin::new_handle(frozen_conv2d_accumulate(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                                      mipin::optional_tensor(bias), mipin::tensor_ref(accumulator),
                                                      stride_h, stride_w, pad_h, pad_w, post));
  });
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_frozen_cache_contents(int64_t* live_weight_bytes, int64_t* freed_weight_bytes, int64_t* primitives) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    const auto contents = mipin::cache_contents();
    *live_weight_bytes = contents.live_weight_bytes;
    *freed_weight_bytes = contents.freed_weight_bytes;
    *primitives = contents.primitives;
#else
    *live_weight_bytes = *freed_weight_bytes = *primitives = -1;
#endif
  });
}
