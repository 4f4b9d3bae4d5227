// Activations in oneDNN's blocked layout, nChw16c or nChw8c by CPU (mt_blocked_channels, mt_to_blocked,
// mt_from_blocked, mt_conv2d_blocked in mipin_torch.h), in forward passes without autograd and while autograd records.
//
// Why record them: an input-gradient pass (gradient, fused, gradient x input, the metrics' gradients) spends most of
// its time in convolutions, forward and backward-data. On AVX-512, oneDNN 2.6's kernels for the blocked layout run
// MobileNetV2's 1x1 and depthwise layers about 1.25x faster than its channels-last ones in both directions (batch 8,
// 2 threads, each of its shapes once: forward 24.2 -> 19.1 ms, backward-data 22.7 -> 18.2 ms); ResNet-50's about 1.07x.
//
// Each entry point records one autograd node when its input requires a gradient:
// - ToBlockedBackward / FromBlockedBackward: the gradient goes through the opposite reorder.
// - BlockedConvolutionBackward: like frozen_conv2d.cpp's FrozenConvolutionBackward, one node per convolution with its
//   rectifier and residual sum inside the kernel. Its backward masks the gradient in place (the rectifier's rule,
//   reading the saved blocked output: padding channels are zero there, so their gradient is masked to zero too), hands
//   it to the accumulator and takes the input gradient with oneDNN's blocked backward-data kernel. The weight is
//   frozen: no weight gradient. The backward is not itself differentiable (create_graph fails with the fix).
// Values differ from the channels-last path by float rounding (the kernels add the input channels in another order).

#include "frozen_kernels.h"
#include "mipin_torch.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/saved_variable.h>

#include <vector>

namespace {

#if MIPIN_WITH_ONEDNN

using torch::autograd::variable_list;

constexpr const char* kNoSecondDerivative =
    "a blocked convolution's backward is not differentiable (create_graph); set MIPIN_BLOCKED_ACTIVATIONS=0 to record "
    "passes in the channels-last layout, whose backward is";

// Whether autograd records an op on these inputs.
bool recording(const at::Tensor& a, const at::Tensor& b = {}) {
  return c10::GradMode::is_enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()));
}

// Makes `node` the history of `out`, computed by `kernel` below autograd, with `inputs` as the node's next edges.
template <class Kernel>
at::Tensor with_history(const std::shared_ptr<torch::autograd::Node>& node, const variable_list& inputs, Kernel kernel) {
  node->set_next_edges(torch::autograd::collect_next_edges(inputs));
  at::Tensor out;
  {
    at::AutoDispatchBelowADInplaceOrView below_autograd;  // plain kernels, recorded by nobody: the node is the history
    out = kernel();
  }
  torch::autograd::set_history(out, node);
  return out;
}

struct ToBlockedBackward : torch::autograd::Node {
  int64_t channels = 0;

  variable_list apply(variable_list&& grads) override {
    TORCH_CHECK(!c10::GradMode::is_enabled(), kNoSecondDerivative);
    if (!grads[0].defined()) return {at::Tensor()};
    return {mipin::from_blocked(grads[0].contiguous(), channels)};
  }

  std::string name() const override { return "ToBlockedBackward"; }
};

struct FromBlockedBackward : torch::autograd::Node {
  variable_list apply(variable_list&& grads) override {
    TORCH_CHECK(!c10::GradMode::is_enabled(), kNoSecondDerivative);
    if (!grads[0].defined()) return {at::Tensor()};
    return {mipin::to_blocked(grads[0])};
  }

  std::string name() const override { return "FromBlockedBackward"; }
};

struct BlockedConvolutionBackward : torch::autograd::Node {
  std::vector<int64_t> input_sizes, stride, padding;  // the input's logical N x C x H x W sizes
  int64_t groups = 1;
  torch::autograd::SavedVariable weight;  // saved as aten saves it: an in-place change before the backward is an error
  mipin::OutputRectifier post;
  torch::autograd::SavedVariable output;  // saved only with a rectifier, whose mask reads it
  bool has_accumulator = false;

  variable_list apply(variable_list&& grads) override {
    TORCH_CHECK(!c10::GradMode::is_enabled(), kNoSecondDerivative);
    at::Tensor grad = std::move(grads[0]);
    variable_list result(has_accumulator ? 2 : 1);
    if (!grad.defined()) return result;
    if (post.kind != mipin::OutputRectifier::Kind::None)  // the output is saved only then
      grad = mipin::rectifier_gradient(std::move(grad), output.unpack(shared_from_this()), post);
    if (task_should_compute_output(0))
      result[0] = mipin::cached_blocked_backward_data(grad, weight.unpack(shared_from_this()), input_sizes, stride,
                                                      padding, groups);
    if (has_accumulator && task_should_compute_output(1)) result[1] = std::move(grad);
    return result;
  }

  std::string name() const override { return "BlockedConvolutionBackward"; }

  void release_variables() override {
    output.reset_data();
    weight.reset_data();
  }
};

at::Tensor to_blocked(const at::Tensor& x) {
  if (!recording(x)) return mipin::to_blocked(x);
  auto node = std::shared_ptr<ToBlockedBackward>(new ToBlockedBackward(), torch::autograd::deleteNode);
  node->channels = x.size(1);
  return with_history(node, {x}, [&] { return mipin::to_blocked(x); });
}

at::Tensor from_blocked(const at::Tensor& xb, int64_t channels) {
  if (!recording(xb)) return mipin::from_blocked(xb, channels);
  auto node = std::shared_ptr<FromBlockedBackward>(new FromBlockedBackward(), torch::autograd::deleteNode);
  return with_history(node, {xb}, [&] { return mipin::from_blocked(xb, channels); });
}

// cached_blocked_forward, recorded when autograd records. Then the sum runs into a copy of the accumulator (which may
// be saved for another node's backward, e.g. the rectified output before a residual block), and the input must be
// blocked: an image's input gradient has faster kernels in the channels-last layout (frozen_conv2d.cpp).
at::Tensor blocked_conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, std::vector<int64_t> stride,
                          std::vector<int64_t> padding, int64_t groups, const mipin::OutputRectifier& post,
                          const at::Tensor& acc) {
  if (!recording(x, acc)) return mipin::cached_blocked_forward(x, w, b, stride, padding, groups, post, acc);
  TORCH_CHECK(x.dim() == 5, "mt_conv2d_blocked: a recorded blocked convolution needs a blocked input, got sizes ",
              x.sizes());
  TORCH_CHECK(!w.requires_grad() && (!b.defined() || !b.requires_grad()),
              "mt_conv2d_blocked: the weight and bias must be frozen (requires_grad false): a blocked convolution takes "
              "no weight gradient");
  auto node = std::shared_ptr<BlockedConvolutionBackward>(new BlockedConvolutionBackward(), torch::autograd::deleteNode);
  node->input_sizes = {x.size(0), w.size(1) * groups, x.size(2), x.size(3)};
  node->stride = stride;
  node->padding = padding;
  node->groups = groups;
  node->weight = torch::autograd::SavedVariable(w, /*is_output=*/false);
  node->post = post;
  node->has_accumulator = acc.defined();
  auto out = with_history(node, acc.defined() ? variable_list{x, acc} : variable_list{x}, [&] {
    return mipin::cached_blocked_forward(x, w, b, stride, padding, groups, post, acc.defined() ? acc.clone() : acc);
  });
  if (post.kind != mipin::OutputRectifier::Kind::None)
    node->output = torch::autograd::SavedVariable(out, /*is_output=*/true);
  return out;
}

#else
constexpr const char* kNoBlockedActivations = "blocked activations need a shim built with oneDNN (mt_blocked_channels)";
#endif

}  // namespace

int mt_blocked_channels(int32_t* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = static_cast<int32_t>(mipin::blocked_layout_channels());
#else
    *out = 0;
#endif
  });
}

int mt_to_blocked(mt_tensor input, mt_tensor* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = mipin::new_handle(to_blocked(mipin::tensor_ref(input)));
#else
    TORCH_CHECK(false, kNoBlockedActivations);
#endif
  });
}

int mt_from_blocked(mt_tensor input, int64_t channels, mt_tensor* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = mipin::new_handle(from_blocked(mipin::tensor_ref(input), channels));
#else
    TORCH_CHECK(false, kNoBlockedActivations);
#endif
  });
}

int mt_conv2d_blocked(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                      int64_t pad_h, int64_t pad_w, int64_t groups, int32_t rectifier, double lo, double hi,
                      mt_tensor accumulator, mt_tensor* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = mipin::new_handle(blocked_conv2d(mipin::tensor_ref(input), mipin::tensor_ref(weight),
                                            mipin::optional_tensor(bias), {stride_h, stride_w}, {pad_h, pad_w}, groups,
                                            mipin::output_rectifier(rectifier, lo, hi),
                                            mipin::optional_tensor(accumulator)));
#else
    TORCH_CHECK(false, kNoBlockedActivations);
#endif
  });
}
