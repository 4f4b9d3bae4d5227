// In-place rectifiers with autograd (rectifier_in_place.cpp), also applied by frozen_conv2d.cpp after a convolution
// it could not fuse them into, and their gradient, which frozen_conv2d.cpp also takes for the rectifiers it fused.
#pragma once

#include <ATen/ATen.h>

namespace mipin {

// max(x, 0) (is_relu: aten::relu_'s values and gradient) or clamp(x, lo, hi) (aten::hardtanh_'s) in place; while
// autograd records, the backward masks the incoming gradient in place when nothing else holds it.
void rectify_in_place(at::Tensor& x, bool is_relu, double lo, double hi);

// Whether `t` may be written in place by the backward node it was handed to: the node holds the only reference to it
// and to its memory (the autograd engine moves each node's input buffer into apply(), so anyone else who can see it
// raises a count), it is no view, needs no gradient itself, is no ZeroTensor (immutable), and no graph of the backward
// is being recorded (create_graph).
bool held_only_here(const at::Tensor& t);

// The gradient through such a rectifier, given its output `out`: grad where out > 0 (is_relu: threshold_backward), or
// where lo < out < hi (hardtanh_backward). Written into grad itself when nothing else holds it and no graph of the
// backward is being recorded, else into a new tensor.
at::Tensor rectifier_gradient(at::Tensor grad, const at::Tensor& out, bool is_relu, double lo, double hi);

}  // namespace mipin
