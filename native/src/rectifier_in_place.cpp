// In-place rectifiers (ReLU, ReLU6) whose backward masks the incoming gradient in place when nothing else holds it
// (mt_relu_ and mt_clip_ in mipin_torch.h).
//
// Why: autograd's own backward of relu_ and hardtanh_ (threshold_backward, hardtanh_backward) writes the masked
// gradient into a new tensor: it reads the gradient and the saved output, and writes a third activation-sized block,
// which the CPU must first read into its cache (write-allocate). Writing back into the gradient it was given saves
// that third stream: 30-45% of each mask's time on MobileNetV2's and ResNet-50's activations (docs/bench.md).
// The values are the same formulas' to the last bit: only where the result is written changes.
//
// When may the gradient be overwritten? Only when this node holds the sole reference to it. The autograd engine
// moves each node's input buffer into apply(), so a use count of 1 (and a storage no view shares) means nobody else
// can see it. The cases where it is shared all raise the count and fall back to a new tensor: an addition's backward
// hands the same gradient to both of its inputs, a captured gradient (autograd::grad's inputs, Grad-CAM's layer) is
// also held by the engine, and a caller's grad_outputs are held by the caller. Higher-order gradients
// (create_graph) always take the out-of-place formula, so the graph of the backward stays correct.

#include "mipin_torch.h"
#include "shim_internal.h"
#include "rectifier_in_place.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/saved_variable.h>

namespace {

using torch::autograd::variable_list;

// ReLU: grad where output > 0 (aten's threshold_backward(grad, output, 0), the derivative autograd uses for relu_).
// Clip to [lo, hi] (ReLU6): grad where lo < output < hi (hardtanh_backward(grad, output, lo, hi), hardtanh_'s).
struct RectifierInPlaceBackward : torch::autograd::Node {
  torch::autograd::SavedVariable output;
  bool is_relu = true;
  double lo = 0.0;
  double hi = 0.0;

  variable_list apply(variable_list&& grads) override {
    at::Tensor grad = std::move(grads[0]);
    if (!grad.defined() || !should_compute_output(0)) return {at::Tensor()};
    return {mipin::rectifier_gradient(std::move(grad), output.unpack(shared_from_this()), is_relu, lo, hi)};
  }

  std::string name() const override { return is_relu ? "ReluInPlaceBackward" : "ClipInPlaceBackward"; }

  void release_variables() override { output.reset_data(); }
};

}  // namespace

namespace mipin {

bool held_only_here(const at::Tensor& t) {
  return !c10::GradMode::is_enabled() && !t.requires_grad() && !t._is_zerotensor() && t.use_count() == 1 &&
         !t.is_view() && t.has_storage() && t.storage().use_count() == 1;
}

namespace {

// Whether the rectifier's gradient may be written into `grad`: see the top of this file.
bool may_overwrite(const at::Tensor& grad, const at::Tensor& out) {
  return held_only_here(grad) && grad.is_non_overlapping_and_dense() && grad.scalar_type() == out.scalar_type() &&
         grad.device() == out.device() && grad.sizes().equals(out.sizes()) && grad.strides().equals(out.strides());
}

}  // namespace

at::Tensor rectifier_gradient(at::Tensor grad, const at::Tensor& out, bool is_relu, double lo, double hi) {
  if (may_overwrite(grad, out)) {
    if (is_relu)
      at::threshold_backward_out(grad, grad, out, 0);
    else
      at::hardtanh_backward_out(grad, grad, out, lo, hi);
    return grad;
  }
  return is_relu ? at::threshold_backward(grad, out, 0) : at::hardtanh_backward(grad, out, lo, hi);
}

// Applies the rectifier to x in place and, while autograd records and x requires grad, makes a
// RectifierInPlaceBackward x's history, the way autograd's generated code does for relu_: check the in-place op is
// allowed, run the kernel below autograd (the version counter still moves), rebase x's history, save the output.
void rectify_in_place(at::Tensor& x, bool is_relu, double lo, double hi) {
  auto kernel = [&] {
    if (is_relu)
      x.relu_();
    else
      x.clamp_(lo, hi);
  };
  if (!c10::GradMode::is_enabled() || !x.requires_grad()) {
    kernel();
    return;
  }
  torch::autograd::check_inplace(x, true);
  auto node = std::shared_ptr<RectifierInPlaceBackward>(new RectifierInPlaceBackward(), torch::autograd::deleteNode);
  node->is_relu = is_relu;
  node->lo = lo;
  node->hi = hi;
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  {
    at::AutoDispatchBelowAutograd below_autograd;
    kernel();
  }
  torch::autograd::rebase_history(x, node);
  node->output = torch::autograd::SavedVariable(x, /*is_output=*/true, x.is_view());
}

}  // namespace mipin

int mt_relu_(mt_tensor t) {
  return mipin::guarded([&] { mipin::rectify_in_place(mipin::tensor_ref(t), true, 0.0, 0.0); });
}

int mt_clip_(mt_tensor t, double lo, double hi) {
  return mipin::guarded([&] { mipin::rectify_in_place(mipin::tensor_ref(t), false, lo, hi); });
}
