// Kernels of frozen convolutions (frozen_conv2d.cpp chooses among them): convolutions whose weight needs no gradient,
// run faster than libtorch runs them while giving the same forward values.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace mipin {

// The sizes of one 2-D convolution (dilation 1, one group).
struct ConvolutionGeometry {
  int64_t n, c, h, w;      // input sizes
  int64_t o, kh, kw;       // output channels, kernel
  int64_t oh, ow;          // output spatial sizes
  int64_t sh, sw, ph, pw;  // stride, padding
};

// The weight (O x I x kh x kw) rotated by 180 degrees in space, with its channel axes swapped: (I x O x kh x kw), in
// `format`. The input gradient of a stride-1 convolution is the forward convolution of the output gradient with it.
at::Tensor rotated_transposed(const at::Tensor& w, at::MemoryFormat format);

// A rectifier oneDNN applies to a convolution's output before storing it: none, max(x, 0), or clamp to [lo, hi].
struct OutputRectifier {
  enum class Kind { None, Relu, Clip } kind = Kind::None;
  double lo = 0.0, hi = 0.0;
};

// The rectifier an entry point asks for: 0 none, 1 ReLU, 2 clamp to [lo, hi] (frozen_conv2d.cpp).
OutputRectifier output_rectifier(int32_t kind, double lo, double hi);

// The gradient through `post`, given its output `out`: rectifier_in_place.h's rectifier_gradient (in place where it
// may be), or `grad` itself when there is no rectifier. The backward nodes of convolutions with the rectifier inside.
at::Tensor rectifier_gradient(at::Tensor grad, const at::Tensor& out, const OutputRectifier& post);

#if MIPIN_WITH_ONEDNN
// d(loss)/d(input) of a convolution over few input channels, from grad_out (N x O x OH x OW), as an N x C x H x W
// tensor of `format`: one oneDNN sgemm and a scatter (few_channel_input_gradient.cpp).
at::Tensor few_channel_input_gradient(const at::Tensor& grad_out, const at::Tensor& weight,
                                      const ConvolutionGeometry& g, at::MemoryFormat format);

// Which weight a cached convolution multiplies by: the layer's own, or rotated_transposed(weight).
enum class CachedWeight { AsIs, RotatedTransposed };

// The N x O x OH x OW sizes of a convolution's output (dilation 1) from its input's sizes `x`.
std::vector<int64_t> output_sizes(at::IntArrayRef x, int64_t out_channels, int64_t kh, int64_t kw,
                                  at::IntArrayRef stride, at::IntArrayRef padding);

// oneDNN's direct convolution (the primitive aten::conv2d runs on channels-last data) with its primitive and its
// reordered weight kept from one call to the next, for as long as the weight tensor lives unchanged
// (cached_direct_conv2d.cpp). x: channels-last float32 on the CPU; dilation 1; w: O x I/groups x kh x kw (a
// RotatedTransposed weight: one group). bias may be undefined.
// A rectifier runs inside the convolution's kernel (a oneDNN post-op): the same values as applying it afterwards,
// without another pass over the output. With `accumulator` defined, the output is added to it in place before the
// rectifier, also inside the kernel, and the accumulator is returned. When the accumulator is not float32 CPU data of
// the output's sizes in channels-last layout, shares memory with x, or oneDNN would need another kernel for the sum,
// nothing is written and the result is undefined (the caller adds).
at::Tensor cached_direct_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                 at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups, CachedWeight which,
                                 const OutputRectifier& rectifier = {}, const at::Tensor& accumulator = {});

// Whether cached_direct_forward adds an accumulator inside its kernel for this convolution (x's sizes; w_sizes as the
// kernel multiplies by, O x I/groups x kh x kw), rather than returning an undefined result: only oneDNN's brgemm
// kernels (AVX-512) sum so that the result is conv2d + add_ to the last bit. Lets a caller that must copy the
// accumulator first (recorded passes) skip the copy where it would be wasted. Decided once per shape.
bool cached_forward_sums_in_kernel(at::IntArrayRef x, at::IntArrayRef w_sizes, bool has_bias, at::IntArrayRef stride,
                                   at::IntArrayRef padding, int64_t groups, const OutputRectifier& rectifier);

// The input gradient of that convolution through oneDNN's direct backward-data primitive, cached the same way;
// grad: N x O x OH x OW. The result is channels-last.
at::Tensor cached_direct_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                       at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups = 1);

// Activations in oneDNN's blocked layout between frozen convolutions (blocked_activations.cpp records them for
// autograd): nChw16c on AVX-512, where oneDNN's kernels for it run MobileNetV2's 1x1 and depthwise convolutions
// 1.0-2.3x faster than its channels-last ones, which aten runs; nChw8c on AVX2, where its jit:avx2 kernels run
// ResNet-50's and VGG's 3x3 layers up to 1.8x faster from that layout. A blocked tensor is N x ceil(C/B) x H x W x B
// with B = blocked_layout_channels() (channels past C zero); aten's ops do not understand it, so only these functions
// read it.
//
// blocked_layout_channels: B, the channels per block oneDNN has optimised kernels for on this CPU (16, else 8), or 0
// where it has neither (it would run reference kernels, so blocked runs are not used).
int64_t blocked_layout_channels();

// to_blocked: x (4-D float32 CPU, any layout) in that layout. from_blocked: back to a channels-last N x C x H x W.
at::Tensor to_blocked(const at::Tensor& x);
at::Tensor from_blocked(const at::Tensor& xb, int64_t channels);

// cached_direct_forward on blocked activations: x blocked (or, for an image entering a run, a contiguous N x C x H x W
// tensor), the output blocked; the primitive and reordered weight kept the same way. These are other kernels than the
// channels-last ones (jit instead of brgemm), which add the input channels in another order: values differ from
// cached_direct_forward's by float rounding. With `accumulator` (blocked, of the output's sizes) the output is summed
// into it inside the kernel, before the rectifier, and it is returned.
at::Tensor cached_blocked_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                  at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups,
                                  const OutputRectifier& rectifier = {}, const at::Tensor& accumulator = {});

// The input gradient of cached_blocked_forward's convolution (blocked input of `input_sizes`, N x C x H x W) from the
// gradient of its blocked output, through oneDNN's backward-data kernel for the blocked layout (jit, about 1.25x the
// channels-last kernel on MobileNetV2's 1x1 and depthwise layers), cached the same way; 3x3 stride-1 layers take the
// Winograd backward-data kernel instead while winograd_input_gradients() (same layout, no reorder; rounding as
// cached_winograd_backward_data's). The result is blocked.
at::Tensor cached_blocked_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                        at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups);

// The input gradient of a frozen 3x3, stride-1, ungrouped convolution (input of `input_sizes`, padding `padding`)
// from its output gradient through oneDNN's Winograd F(4x4, 3x3) backward-data kernel, primitive and reordered weight
// cached as cached_direct_backward_data's; the gradient is reordered into the kernel's blocked layout and the result
// back to channels-last. 1.1-2.6x faster than the direct kernels on ResNet-50's and VGG's 3x3 layers (batch 8, 2
// threads, reorders included). Values differ from the direct kernel's by the rounding of Winograd's tile transforms,
// about 1e-6 of the largest value. Undefined when oneDNN has no Winograd kernel for it (no AVX-512; some shapes).
at::Tensor cached_winograd_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                         at::IntArrayRef padding);

// The input gradient of a frozen ungrouped convolution on channels-last data (input of `input_sizes`) through oneDNN's
// direct backward-data kernel for the blocked layout (blocked_layout_channels), primitive and reordered weight cached as
// cached_direct_backward_data's: the gradient is reordered into that layout and the result back to channels-last. For
// 3x3 stride-1 layers of 28x28 to 64x64 pixels on AVX2, where it runs 1.2-1.7x faster than the channels-last kernel,
// reorders included (VGG's 128@56 to 512@28, batch 8, 2 threads); larger layers lose the gain to the reorders. There
// it is the channels-last kernel reading nChw8c data, with the same sums: the values are cached_direct_backward_data's
// to the last bit. Needs blocked_layout_channels() > 0.
at::Tensor cached_blocked_layout_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                               at::IntArrayRef stride, at::IntArrayRef padding);

// cached_direct_forward's convolution (ungrouped, `rectifier` inside the kernel) on channels-last data through oneDNN's
// forward kernel for the blocked layout (blocked_layout_channels): x is reordered into that layout and the output back
// to channels-last; primitive and reordered weight cached with the channels-last kernels' (on AVX2 both kernels take
// the weight in one layout, so it is one copy). For the 3x3 stride-1 layers of 14x14 to 64x64 pixels on AVX2, with
// autograd recording or not, where its jit:avx2 kernel runs 1.2-1.4x faster from nChw8c than from channels-last data.
// There it is the channels-last kernel itself, reading the same data with other strides: the values are
// cached_direct_forward's, and aten::conv2d's, to the last bit (FrozenConvolutionTests). Needs
// blocked_layout_channels() > 0.
at::Tensor cached_blocked_layout_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                         at::IntArrayRef stride, at::IntArrayRef padding,
                                         const OutputRectifier& rectifier);

// Whether oneDNN runs channels-last convolutions on this CPU with its brgemm kernels (AVX-512), not its older jit ones
// (AVX2). Where it does, a forward convolution over the rotated, transposed weight computes a large 3x3 layer's input
// gradient faster than oneDNN's backward-data kernel, and a residual sum can run inside the kernel to the last bit of
// conv2d + add_; elsewhere neither holds. Probed once.
bool brgemm_forward_kernels();

// Whether input gradients of 3x3 stride-1 layers take the Winograd kernels (mt_set_winograd_input_gradients; on by
// default): cached_winograd_backward_data on channels-last data, cached_blocked_backward_data's Winograd kernel on
// blocked data.
bool winograd_input_gradients();

// What these kernels keep now: the bytes of reordered weights of weights still alive, and of freed weights (their copies
// wait for the next new entry to drop them), and the number of prepared primitives.
struct CacheContents {
  int64_t live_weight_bytes = 0, freed_weight_bytes = 0, primitives = 0;
};
CacheContents cache_contents();
#endif

}  // namespace mipin
