// In-place rectifiers with autograd (rectifier_in_place.cpp), also applied by frozen_conv2d.cpp after a convolution
// it could not fuse them into.
#pragma once

#include <ATen/ATen.h>

namespace mipin {

// max(x, 0) (is_relu: aten::relu_'s values and gradient) or clamp(x, lo, hi) (aten::hardtanh_'s) in place; while
// autograd records, the backward masks the incoming gradient in place when nothing else holds it.
void rectify_in_place(at::Tensor& x, bool is_relu, double lo, double hi);

}  // namespace mipin
