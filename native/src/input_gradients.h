// Input gradients of frozen convolutions computed faster than oneDNN's backward-data kernels (frozen_conv2d.cpp
// chooses among them).
#pragma once

#include <ATen/ATen.h>

namespace mipin {

// The sizes of one 2-D convolution (dilation 1, one group).
struct ConvolutionGeometry {
  int64_t n, c, h, w;      // input sizes
  int64_t o, kh, kw;       // output channels, kernel
  int64_t oh, ow;          // output spatial sizes
  int64_t sh, sw, ph, pw;  // stride, padding
};

#if MIPIN_WITH_ONEDNN
// d(loss)/d(input) of a convolution over few input channels, from grad_out (N x O x OH x OW), as an N x C x H x W
// tensor of `format`: one oneDNN sgemm and a scatter (few_channel_input_gradient.cpp).
at::Tensor few_channel_input_gradient(const at::Tensor& grad_out, const at::Tensor& weight,
                                      const ConvolutionGeometry& g, at::MemoryFormat format);
#endif

}  // namespace mipin
