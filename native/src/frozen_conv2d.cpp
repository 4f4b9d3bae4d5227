// Convolutions with a frozen weight (mt_conv2d_frozen in mipin_torch.h), which is every convolution of an attribution
// method: the model is frozen, and a saliency gradient is wanted with respect to the image, so each convolution's
// backward computes only its input gradient.
//
// Forward values are always aten::conv2d's to the last bit: on channels-last data the shim runs the same oneDNN
// primitive, with the primitive and the reordered weight kept between calls (cached_direct_conv2d.cpp; libtorch
// reorders every weight on every call), so ReLU gates are PyTorch's. On AVX2, the 3x3 stride-1 layers of 14x14 to
// 64x64 pixels run through that kernel on nChw8c copies of their input, with autograd recording or not, 1.2-1.4x
// faster there, with the same sums (blocked_layout_forward). The input gradient is oneDNN's backward-data kernel,
// cached the same way, except in the cases below, where that kernel is slow and the shim (but for the nChw8c case,
// which is that kernel on other strides) sums the same products in another order: the differences are float rounding
// (about 1e-7 of the largest value per layer), carried linearly through the layers below, since the gates they pass
// are fixed by the forward pass.
//
// - An image's few channels (1-4): one matrix product and a scatter (few_channel_input_gradient.cpp), 2-3x faster.
// - 3x3, stride-1 layers in channels-last layout, unless mt_set_winograd_input_gradients(0) (MIPIN_CONVOLUTION=direct, or
//   winograd, whose own node runs those layers):
//   oneDNN's Winograd backward-data kernel (cached_winograd_backward_data), 1.1-2.6x faster than the direct kernels
//   with the reorders into and out of its blocked layout (ResNet-50's 64@56 to 512@7, VGG's 64@224 to 512@14, batch
//   8, 2 threads). Its tile transforms round differently: about 1e-6 of the largest value per layer, still carried
//   linearly, since the forward pass, and so every gate, is the direct one. Shapes oneDNN's Winograd kernels refuse
//   (and CPUs without them) take the kinds below.
// - 3x3, stride-1 layers over at least 28x28 pixels in channels-last layout, on AVX-512: oneDNN 2.6's backward-data
//   kernel runs up to 2x slower there than the forward kernel over the same arithmetic (batch 8, 2 threads: 512 -> 512
//   channels at 28x28, 253 ms against 128 ms; 256 -> 512, 127 against 65; 5-10% slower at 56-224 pixels), in PyTorch
//   too. The input gradient of a stride-1 convolution is itself a forward convolution: of the output gradient, with the
//   kernel rotated by 180 degrees and its two channel axes swapped, padded by k-1-p. Below 28x28 the backward kernel is
//   as fast or faster (measured down to 7x7), so those layers keep it. So does every layer where the forward kernel is
//   not oneDNN's brgemm one (brgemm_forward_kernels): on AVX2 both are its jit kernels, and the backward-data kernel
//   took 0.48-0.97x the transposed forward's time (VGG's and ResNet-50's 3x3 layers, batch 8, 2 threads).
// - 3x3, stride-1 layers of 28x28 to 64x64 pixels in channels-last layout on AVX2: oneDNN's jit:avx2 backward-data
//   kernel is written for its blocked nChw8c layout, and runs 1.2-1.7x faster there than on channels-last data, the
//   reorders into and out of it included (VGG's 128@56 to 512@28, batch 8, 2 threads); from 112x112 pixels up the
//   reorders cost what it gains (cached_blocked_layout_backward_data). It is the channels-last kernel reading nChw8c
//   data, with the same sums: these gradients are aten's to the last bit (FrozenConvolutionTests).
// - 1x1 stride-1 layers whose input gradient has a residual shortcut's gradient to add (frozen_conv2d_passing_input):
//   the forward kernel over the transposed weight, with the sum inside it. On this CPU (AVX-512, oneDNN 2.6) it sums
//   the same products in the backward kernel's order, so these gradients are bit-identical (FrozenConvolutionTests
//   checks ResNet-50's shapes); elsewhere, at most the float rounding above.
//
// Without oneDNN's headers (MIPIN_WITH_ONEDNN 0) nothing is cached and image layers keep aten's gradient.

#include "frozen_kernels.h"
#include "mipin_torch.h"
#include "rectifier_in_place.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/saved_variable.h>
#if MIPIN_WITH_ONEDNN
// Internal header (select_conv_backend), used only to ask which kernel aten would pick on the CPU; its declarations
// change between releases (2.x takes SymInt arguments), and PyTorch's wheels build without oneDNN here anyway.
#include <ATen/native/ConvUtils.h>
#endif

#include <atomic>
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

OutputRectifier output_rectifier(int32_t kind, double lo, double hi) {
  OutputRectifier post;
  if (kind == 1) post.kind = OutputRectifier::Kind::Relu;
  if (kind == 2) post = {OutputRectifier::Kind::Clip, lo, hi};
  return post;
}

namespace {
// mt_set_winograd_input_gradients: whether 3x3 stride-1 layers take the Winograd kernels (the default).
std::atomic<bool> g_winograd_input_gradients{true};
}  // namespace

bool winograd_input_gradients() { return g_winograd_input_gradients.load(std::memory_order_relaxed); }

at::Tensor rectifier_gradient(at::Tensor grad, const at::Tensor& out, const OutputRectifier& post) {
  if (post.kind == OutputRectifier::Kind::None) return grad;
  return rectifier_gradient(std::move(grad), out, post.kind == OutputRectifier::Kind::Relu, post.lo, post.hi);
}

}  // namespace mipin

namespace {

using mipin::ConvolutionGeometry;

// Inputs with at most this many channels take the matrix-product gradient (grey, RGB, RGBA).
constexpr int64_t kMaxImageChannels = 4;

// 3x3 stride-1 layers over at least this many pixels take the forward-convolution gradient (AVX-512) or the
// blocked-layout one (AVX2).
constexpr int64_t kMinTransposedPixels = 28 * 28;
// On AVX2, 3x3 stride-1 layers over more pixels than this keep the channels-last backward-data kernel: from 112x112 up
// the reorders into and out of the blocked layout cost what its kernel gains (0.90-1.01x at VGG's 112 and 224).
constexpr int64_t kMaxBlockedLayoutPixels = 64 * 64;

enum class InputGradient { Aten, FewChannels, TransposedForward, BlockedLayout, Winograd };

// On AVX2, 3x3 stride-1 layers over this many pixels or more run their forward kernel in the blocked
// layout (blocked_layout_forward), up to kMaxBlockedLayoutPixels; below, the channels-last kernel is as fast.
constexpr int64_t kMinBlockedForwardPixels = 14 * 14;

// Whether a convolution's forward runs in the blocked layout (cached_blocked_layout_forward): on CPUs whose
// oneDNN runs channels-last convolutions with its jit:avx2 kernels (no brgemm), for dense 3x3 stride-1 layers of 14x14
// to 64x64 pixels whose channel counts are whole blocks. Its kernel there is the channels-last one reading nChw8c
// data, 1.2-1.4x faster (VGG's 256@56 to 512@14, ResNet-50's 64@56 to 256@14, batch 8, 2 threads), with the same sums
// in the same order: the values are aten::conv2d's to the last bit, so the ReLU gates and the saved output the
// backward masks with are PyTorch's. (Its 1x1 kernels are not: they split the input channels differently.) Only
// where that was checked: nChw8c, padding 0 or 1 (FrozenConvolutionTests, BlockedLayoutForwardTests). The one decision
// for passes with and without autograd; no switch turns it off, since nothing it computes differs.
[[maybe_unused]] bool blocked_layout_forward(const at::Tensor& x, const at::Tensor& w, at::IntArrayRef stride,
                                             at::IntArrayRef padding, int64_t groups) {
#if MIPIN_WITH_ONEDNN
  constexpr int64_t block = 8;
  if (mipin::blocked_layout_channels() != block || groups != 1 || w.size(2) != 3 || w.size(3) != 3 || stride[0] != 1 ||
      stride[1] != 1 || padding[0] != padding[1] || padding[0] > 1)
    return false;
  const int64_t pixels = x.size(2) * x.size(3);
  return pixels >= kMinBlockedForwardPixels && pixels <= kMaxBlockedLayoutPixels && x.size(1) % block == 0 &&
         w.size(0) % block == 0 && x.is_contiguous(at::MemoryFormat::ChannelsLast) && !mipin::brgemm_forward_kernels();
#else
  (void)x, (void)w, (void)stride, (void)padding, (void)groups;
  return false;
#endif
}

// How many convolutions this thread ran through cached_blocked_layout_forward (mt_blocked_layout_forwards:
// tests check which layers take it).
thread_local int64_t t_blocked_layout_forwards = 0;

// The kind for 3x3 stride-1 layers when Winograd is off or refuses the shape (or this CPU has none).
InputGradient direct_kind_of_3x3(int64_t input_pixels) {
#if MIPIN_WITH_ONEDNN
  if (input_pixels < kMinTransposedPixels) return InputGradient::Aten;
  if (mipin::brgemm_forward_kernels()) return InputGradient::TransposedForward;
  if (input_pixels <= kMaxBlockedLayoutPixels && mipin::blocked_layout_channels() > 0)
    return InputGradient::BlockedLayout;
#else
  (void)input_pixels;
#endif
  return InputGradient::Aten;
}

InputGradient choose(const at::Tensor& x, const at::Tensor& w, int64_t stride_h, int64_t stride_w) {
#if MIPIN_WITH_ONEDNN
  if (x.size(1) <= kMaxImageChannels) return InputGradient::FewChannels;
#endif
  if (w.size(2) == 3 && w.size(3) == 3 && stride_h == 1 && stride_w == 1 &&
      x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
#if MIPIN_WITH_ONEDNN
    if (mipin::winograd_input_gradients()) return InputGradient::Winograd;
#endif
    return direct_kind_of_3x3(x.size(2) * x.size(3));
  }
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

// The forward pass: the cached primitive (with `post` inside it) when `use_cache`, on nChw8c copies of the input where
// blocked_layout_forward takes the layer, else aten::conv2d then `post` as a separate in-place op (which, where
// autograd records it, masks the gradient in place in its backward). Values are aten::conv2d's either way.
at::Tensor forward_pass(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                        at::IntArrayRef padding, int64_t groups, bool use_cache, const mipin::OutputRectifier& post = {}) {
#if MIPIN_WITH_ONEDNN
  if (use_cache && blocked_layout_forward(x, w, stride, padding, groups)) {
    ++t_blocked_layout_forwards;
    return mipin::cached_blocked_layout_forward(x, w, b, stride, padding, post);
  }
  if (use_cache) return mipin::cached_direct_forward(x, w, b, stride, padding, groups, mipin::CachedWeight::AsIs, post);
#else
  (void)use_cache;
#endif
  auto out = at::conv2d(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride, padding, {1, 1},
                        groups);
  rectify_after(out, post);
  return out;
}

// The input gradient of a frozen convolution with weight w from its output gradient, by the kernel `kind` names (see
// the top of this file). While a graph of the backward is recorded (create_graph) it is aten's, which is
// differentiable.
struct InputGradientPlan {
  std::vector<int64_t> sizes, stride, padding;  // the input's sizes; the convolution's stride and padding
  at::MemoryFormat format = at::MemoryFormat::Contiguous;  // the input's
  InputGradient kind = InputGradient::Aten;
  int64_t groups = 1;  // grouped convolutions (depthwise) always take the Aten kind: oneDNN's kernel or aten's

  // With `addend` (what the input receives besides, e.g. through a residual block's shortcut) the result is the sum.
  // Where the input gradient is a forward convolution (3x3 stride-1 layers above; 1x1 stride-1 layers, whose rotated
  // kernel is just transposed, when there is an addend) and nothing else holds the addend, the kernel adds into it
  // (oneDNN's sum post-op) instead of the autograd engine adding two activation-sized tensors into a third.
  at::Tensor operator()(const at::Tensor& grad, const at::Tensor& w, at::Tensor addend = {}) const {
    const bool differentiable = c10::GradMode::is_enabled();
#if MIPIN_WITH_ONEDNN
    if (addend.defined() && !differentiable && forward_with_sum(w) && owned(addend)) {
      const std::vector<int64_t> pad{w.size(2) - 1 - padding[0], w.size(3) - 1 - padding[1]};
      auto sum = mipin::cached_direct_forward(grad.contiguous(at::MemoryFormat::ChannelsLast), w, at::Tensor(), {1, 1},
                                              pad, 1, mipin::CachedWeight::RotatedTransposed, {}, addend);
      if (sum.defined()) return sum;
    }
#endif
    auto result = alone(grad, w);
    if (!addend.defined()) return result;
    return differentiable ? result + addend : result.add_(addend);  // result is a new tensor
  }

 private:
  at::Tensor alone(const at::Tensor& grad, const at::Tensor& w) const {
    return alone(grad, w, c10::GradMode::is_enabled() ? InputGradient::Aten : kind);
  }

  at::Tensor alone(const at::Tensor& grad, const at::Tensor& w, InputGradient how) const {
    switch (how) {
#if MIPIN_WITH_ONEDNN
      case InputGradient::Winograd: {
        auto result = mipin::cached_winograd_backward_data(grad, w, sizes, padding);
        if (result.defined()) return result;
        return alone(grad, w, direct_kind_of_3x3(sizes[2] * sizes[3]));
      }
      case InputGradient::BlockedLayout:
        return mipin::cached_blocked_layout_backward_data(grad, w, sizes, stride, padding);
      case InputGradient::FewChannels: {
        const ConvolutionGeometry g{sizes[0],     sizes[1],     sizes[2],  sizes[3],  w.size(0),  w.size(2), w.size(3),
                                    grad.size(2), grad.size(3), stride[0], stride[1], padding[0], padding[1]};
        return mipin::few_channel_input_gradient(grad, w, g, format);
      }
#endif
      case InputGradient::TransposedForward: {
        const std::vector<int64_t> pad{w.size(2) - 1 - padding[0], w.size(3) - 1 - padding[1]};
#if MIPIN_WITH_ONEDNN
        return mipin::cached_direct_forward(grad.contiguous(at::MemoryFormat::ChannelsLast), w, at::Tensor(), {1, 1},
                                            pad, 1, mipin::CachedWeight::RotatedTransposed);
#else
        return at::conv2d(grad, mipin::rotated_transposed(w, format), c10::nullopt, {1, 1}, pad);
#endif
      }
      default: {
#if MIPIN_WITH_ONEDNN
        if (format == at::MemoryFormat::ChannelsLast && !c10::GradMode::is_enabled())
          return mipin::cached_direct_backward_data(grad, w, sizes, stride, padding, groups);
#endif
        auto shape_only = at::empty(sizes, grad.options(), format);
        return std::get<0>(at::convolution_backward(grad, shape_only, w, c10::nullopt, stride, padding, {1, 1}, false,
                                                    {0, 0}, groups, {true, false, false}));
      }
    }
  }

  bool forward_with_sum(const at::Tensor& w) const {
    const bool one_by_one = w.size(2) == 1 && w.size(3) == 1 && padding[0] == 0 && padding[1] == 0;
    return groups == 1 && stride[0] == 1 && stride[1] == 1 && format == at::MemoryFormat::ChannelsLast &&
           (kind == InputGradient::TransposedForward || (kind == InputGradient::Aten && one_by_one));
  }

  // Nothing but this call holds t (mipin::held_only_here), and it is the input gradient's float32 CPU block.
  bool owned(const at::Tensor& t) const {
    return mipin::held_only_here(t) && t.device().is_cpu() && t.scalar_type() == at::kFloat &&
           t.sizes() == at::IntArrayRef(sizes) && t.is_contiguous(at::MemoryFormat::ChannelsLast);
  }
};

// The backward of one frozen-convolution call while autograd records: out = post(conv(x) [+ acc]). Its inputs are x
// and, with an accumulator, acc. The rectifier's mask and the convolution's input gradient are one node, so that the
// forward pass can run the rectifier and the sum inside the convolution's kernel (no separate passes over the output,
// as without autograd) while the mask is still applied in place to the gradient it is given (RectifierInPlaceBackward's
// rule, rectifier_gradient). acc's gradient is the masked gradient itself.
struct FrozenConvolutionBackward : torch::autograd::Node {
  InputGradientPlan input_gradient;
  // Saved as aten's ConvolutionBackward saves it: changing it in place before the backward is an error, not a
  // gradient of the new weight, and a second backward without retain_graph gets autograd's own message.
  torch::autograd::SavedVariable weight;
  mipin::OutputRectifier post;
  torch::autograd::SavedVariable output;  // saved only with a rectifier, whose mask reads it
  bool has_accumulator = false;
  // Whether the call also returned its input as a second output (frozen_conv2d_passing_input): that output's gradient
  // is part of the input's.
  bool passes_input = false;

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    at::Tensor grad = std::move(grads[0]);
    at::Tensor passed = passes_input ? std::move(grads[1]) : at::Tensor();
    torch::autograd::variable_list result(has_accumulator ? 2 : 1);
    // task_: what this backward call needs (autograd::grad may want the accumulator's gradient alone).
    if (!grad.defined()) {
      if (task_should_compute_output(0)) result[0] = std::move(passed);
      return result;
    }
    if (post.kind != mipin::OutputRectifier::Kind::None)  // the output is saved only then
      grad = mipin::rectifier_gradient(std::move(grad), output.unpack(shared_from_this()), post);
    if (task_should_compute_output(0))
      result[0] = input_gradient(grad, weight.unpack(shared_from_this()), std::move(passed));
    if (has_accumulator && task_should_compute_output(1)) result[1] = std::move(grad);
    return result;
  }

  std::string name() const override { return "FrozenConvolutionBackward"; }

  void release_variables() override {
    output.reset_data();
    weight.reset_data();
  }
};

// out = post(conv(x) + acc) (acc may be undefined: no sum), its history a FrozenConvolutionBackward. On the cached path
// the rectifier and the sum run inside the convolution's kernel, the sum into a copy of acc (acc itself may be saved
// for another node's backward, e.g. the output of the rectifier before a residual block). Values are those of the
// separate ops: the sum and the rectifier are applied to the same float32 convolution output, in the same order.
// With `passed_input`, x is also returned there as the node's second output (sharing x's memory): see
// frozen_conv2d_passing_input.
at::Tensor recorded_frozen_conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const at::Tensor& acc,
                                  std::vector<int64_t> stride, std::vector<int64_t> padding, InputGradient kind,
                                  bool use_cache, const mipin::OutputRectifier& post,
                                  at::Tensor* passed_input = nullptr, int64_t groups = 1) {
  auto node = std::shared_ptr<FrozenConvolutionBackward>(new FrozenConvolutionBackward(), torch::autograd::deleteNode);
  node->input_gradient = {x.sizes().vec(), stride, padding, x.suggest_memory_format(), kind, groups};
  node->weight = torch::autograd::SavedVariable(w, /*is_output=*/false);
  node->post = post;
  node->has_accumulator = acc.defined();
  node->set_next_edges(acc.defined() ? torch::autograd::collect_next_edges(x, acc) : torch::autograd::collect_next_edges(x));
  at::Tensor out;
  {
    // Plain kernels, recorded by nobody: this node is the history.
    at::AutoDispatchBelowADInplaceOrView below_autograd;
#if MIPIN_WITH_ONEDNN
    // The copy is float32 CPU data in the kernel's layout; an accumulator of other sizes (broadcast) or type is added
    // separately below, without copying it first, and so is any where the kernel would not take the sum (AVX2: its jit
    // kernels round it differently), which would waste the copy.
    const auto fits = [&] {
      return acc.scalar_type() == x.scalar_type() && acc.device() == x.device() && acc.layout() == at::kStrided &&
             acc.sizes() ==
                 at::IntArrayRef(mipin::output_sizes(x.sizes(), w.size(0), w.size(2), w.size(3), stride, padding)) &&
             mipin::cached_forward_sums_in_kernel(x.sizes(), w.sizes(), b.defined(), stride, padding, 1, post);
    };
    if (acc.defined() && use_cache && fits())
      out = mipin::cached_direct_forward(x, w, b, stride, padding, 1, mipin::CachedWeight::AsIs, post,
                                         acc.clone(at::MemoryFormat::ChannelsLast));
#endif
    if (!out.defined()) {
      const bool fuse_rectifier = use_cache && !acc.defined();
      out = forward_pass(x, w, b, stride, padding, groups, use_cache, fuse_rectifier ? post : mipin::OutputRectifier{});
      if (acc.defined()) out.add_(acc);
      if (!fuse_rectifier) rectify_after(out, post);
    }
  }
  torch::autograd::set_history(out, node);
  if (passed_input != nullptr) {
    // A new tensor over x's memory (not a view: its history is this node's second output alone) that shares x's
    // version counter, so an in-place change through either is seen by whatever saved the other.
    *passed_input = x.variable_data();
    torch::autograd::impl::set_version_counter(*passed_input, torch::autograd::impl::version_counter(x));
    torch::autograd::set_history(*passed_input, node);
    node->passes_input = true;
  }
  if (post.kind != mipin::OutputRectifier::Kind::None)
    node->output = torch::autograd::SavedVariable(out, /*is_output=*/true);
  return out;
}

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
// applies, else aten::conv2d. On the cached path `post` runs inside the convolution, also while autograd records
// (recorded_frozen_conv2d: one backward node masks the gradient in place and takes the input gradient).
// Grouped convolutions (MobileNetV2's depthwise layers) take it too, with oneDNN's backward-data kernel for their input
// gradient, the one aten runs for them (no sum, no passed input). With `passed_input`, a recorded call also returns x
// there as its node's second output (recorded_frozen_conv2d; frozen_conv2d_passing_input); elsewhere it is left
// undefined.
at::Tensor frozen_conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride_h,
                         int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups,
                         const mipin::OutputRectifier& post, at::Tensor* passed_input = nullptr) {
  const std::vector<int64_t> stride{stride_h, stride_w}, padding{pad_h, pad_w};
  const bool recording = c10::GradMode::is_enabled() && x.requires_grad();
  if (groups != 1) {
    const bool use_cache = frozen(x, w, b, groups) && cached(x, w, b, stride, padding, groups);
    if (recording && use_cache)
      return recorded_frozen_conv2d(x, w, b, at::Tensor(), stride, padding, InputGradient::Aten, true, post, nullptr,
                                    groups);
    return forward_pass(x, w, b, stride, padding, groups, use_cache && !recording, post);
  }
  if (frozen(x, w, b)) {
    const auto kind = recording ? choose(x, w, stride_h, stride_w) : InputGradient::Aten;
    const bool use_cache = cached(x, w, b, stride, padding);
    if (!recording) return forward_pass(x, w, b, stride, padding, 1, use_cache, post);
    if (kind != InputGradient::Aten || use_cache)
      return recorded_frozen_conv2d(x, w, b, at::Tensor(), stride, padding, kind, use_cache, post, passed_input);
  }
  return forward_pass(x, w, b, stride, padding, 1, false, post);
}

// conv2d + acc, then `post` (mt_conv2d_frozen_accumulate). Without autograd, on the cached path, one oneDNN kernel
// writes the sum into acc itself. While autograd records, recorded_frozen_conv2d leaves acc as it was (its kernel
// sums into a copy). Elsewhere: the convolution, an in-place add into its fresh output, and the rectifier, as separate
// ops with their values and backward (acc is left as it was).
at::Tensor frozen_conv2d_accumulate(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                                    const at::Tensor& acc, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                    int64_t pad_w, const mipin::OutputRectifier& post) {
  const std::vector<int64_t> stride{stride_h, stride_w}, padding{pad_h, pad_w};
  const bool recording = c10::GradMode::is_enabled() && (x.requires_grad() || acc.requires_grad());
  if (frozen(x, w, b)) {
    const bool use_cache = cached(x, w, b, stride, padding);
#if MIPIN_WITH_ONEDNN
    if (!recording && use_cache) {
      auto out = mipin::cached_direct_forward(x, w, b, stride, padding, 1, mipin::CachedWeight::AsIs, post, acc);
      if (out.defined()) return out;
    }
#endif
    const auto kind = recording ? choose(x, w, stride_h, stride_w) : InputGradient::Aten;
    if (recording && (kind != InputGradient::Aten || use_cache))
      return recorded_frozen_conv2d(x, w, b, acc, stride, padding, kind, use_cache, post);
  }
  auto out = frozen_conv2d(x, w, b, stride_h, stride_w, pad_h, pad_w, 1, {});
  out.add_(acc);
  rectify_after(out, post);
  return out;
}

// frozen_conv2d(x, ...) and x itself (mt_conv2d_frozen_rectified_passing_input). While autograd records on the frozen
// path, x comes back as this convolution node's second output: a residual block that takes its shortcut from there
// hands the shortcut's gradient to this node, which adds it to its input gradient (inside the kernel where it can),
// so the autograd engine never sums the block input's two gradients into a new tensor. Otherwise x is returned as is.
std::pair<at::Tensor, at::Tensor> frozen_conv2d_passing_input(const at::Tensor& x, const at::Tensor& w,
                                                              const at::Tensor& b, int64_t stride_h, int64_t stride_w,
                                                              int64_t pad_h, int64_t pad_w,
                                                              const mipin::OutputRectifier& post) {
  at::Tensor passed;
  auto out = frozen_conv2d(x, w, b, stride_h, stride_w, pad_h, pad_w, 1, post, &passed);
  return {out, passed.defined() ? passed : x};
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
    const auto post = mipin::output_rectifier(relu != 0 ? 1 : 2, lo, hi);
    *out = mipin::new_handle(frozen_conv2d(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                           mipin::optional_tensor(bias), stride_h, stride_w, pad_h, pad_w, groups,
                                           post));
  });
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_conv2d_frozen_rectified_passing_input(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                             int64_t stride_w, int64_t pad_h, int64_t pad_w, int32_t relu, double lo,
                                             double hi, mt_tensor* out, mt_tensor* passed_input) {
  const int status = mipin::guarded([&] {
    const auto post = mipin::output_rectifier(relu != 0 ? 1 : 2, lo, hi);
    auto [result, passed] = frozen_conv2d_passing_input(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                                        mipin::optional_tensor(bias), stride_h, stride_w, pad_h, pad_w,
                                                        post);
    *out = mipin::new_handle(std::move(result));
    *passed_input = mipin::new_handle(std::move(passed));
  });
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_conv2d_frozen_accumulate(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                int64_t stride_w, int64_t pad_h, int64_t pad_w, mt_tensor accumulator, int32_t relu,
                                mt_tensor* out) {
  const int status = mipin::guarded([&] {
    const auto post = mipin::output_rectifier(relu != 0 ? 1 : 0, 0.0, 0.0);
    *out = mipin::new_handle(frozen_conv2d_accumulate(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                                      mipin::optional_tensor(bias), mipin::tensor_ref(accumulator),
                                                      stride_h, stride_w, pad_h, pad_w, post));
  });
  return mipin::named_failure(status, "aten::conv2d");
}

int mt_set_winograd_input_gradients(int32_t on) {
  return mipin::guarded([&] { mipin::g_winograd_input_gradients.store(on != 0); });
}

int mt_brgemm_kernels(int32_t* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = mipin::brgemm_forward_kernels() ? 1 : 0;
#else
    *out = -1;
#endif
  });
}

int mt_blocked_layout_forwards(int64_t* out) {
  return mipin::guarded([&] { *out = t_blocked_layout_forwards; });
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
