// The input gradient of a convolution over an image's few channels (1-4) as one matrix product and a scatter, instead
// of oneDNN's backward-data kernel (used by frozen_conv2d.cpp).
//
// Why: a saliency gradient ends with the gradient of the first convolution with respect to the image. oneDNN
// vectorises its backward-data kernel over the input channels, and an image has three: on these AVX-512 cores the
// kernel runs 4-7x slower than the same layer's forward pass (batch 8, 2 threads: ResNet-50's 7x7/2 layer 44 ms
// against 8.5 ms forward, VGG-19's 3x3 layer 50 ms against 7 ms), in PyTorch too. The same arithmetic as a product
// G (pixels x C_out) * W (C_out x kh*kw*C_in), each row of which holds one output pixel's contribution to its kh x kw
// window of the image, runs at the forward pass's speed with oneDNN's sgemm; adding those windows into the image
// (col2im) is cheap with 3 channels. Measured alone: 44 -> 18.5 ms (ResNet-50), 50 -> 15 ms (VGG-19), 4.2 -> 2.5 ms
// (MobileNetV2), docs/bench.md. The scatter's adds run on the CPU's widest vectors (add_windows): its share of a
// ResNet-50 gradient pass fell from 2.0% to 0.8% of CPU samples (perf, batch 32), with the same sums.
//
// Results: the same products summed in another order. Against a float64 reference the error is 1.2-2.0e-7 of the
// gradient's largest value where oneDNN's is 1.2-9.7e-7 (Torch/FrozenConvolutionTests). Each element is summed in a
// fixed order, whatever the thread count. Needs oneDNN's sgemm (MIPIN_WITH_ONEDNN).

#include "frozen_kernels.h"

#if MIPIN_WITH_ONEDNN

#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <vector>

namespace mipin {

namespace {

// Work split: each task owns a band of this many image rows of one image, so no two tasks add into the same element
// (the output rows at a band's edge are multiplied by both neighbours: a few percent more arithmetic). The product is
// taken a few output rows at a time so that its block stays in the core's L2 cache before it is scattered.
constexpr int64_t kBandRows = 32;
constexpr int64_t kProductRows = 4;

// Adds the windows of output rows [first_row, first_row + rows) (product: one row of kh*kw*C taps per output pixel)
// into image rows [y0, y1). Each image element receives its taps in order of output column, whatever the layout, so
// the sums are the same to the last bit. In channels-last layout a window row's taps for all channels are one
// contiguous run of the image row (kw*C floats), which the compiler vectorises; the clones let it use the widest
// vectors this CPU has (GCC picks one at load time) while the shim stays buildable for any x86-64.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void add_windows(const ConvolutionGeometry& g, const float* product, int64_t first_row, int64_t rows, int64_t y0,
                 int64_t y1, float* image, int64_t s_c, int64_t s_y, int64_t s_x) {
  const int64_t k = g.kh * g.kw * g.c;
  const bool runs = s_c == 1 && s_x == g.c;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t out_row = first_row + r;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t y = out_row * g.sh - g.ph + i;
      if (y < y0 || y >= y1) continue;
      float* image_row = image + y * s_y;
      const float* window_row = product + r * g.ow * k + i * g.kw * g.c;
      for (int64_t out_col = 0; out_col < g.ow; ++out_col) {
        const int64_t x0 = out_col * g.sw - g.pw;
        const float* taps = window_row + out_col * k;
        // The kernel columns whose image column exists.
        const int64_t j0 = std::max<int64_t>(0, -x0), j1 = std::min<int64_t>(g.kw, g.w - x0);
        if (j1 <= j0) continue;
        if (runs) {
          float* __restrict to = image_row + (x0 + j0) * g.c;
          const float* __restrict from = taps + j0 * g.c;
          const int64_t n = (j1 - j0) * g.c;
          for (int64_t e = 0; e < n; ++e) to[e] += from[e];
          continue;
        }
        for (int64_t j = j0; j < j1; ++j) {
          float* to = image_row + (x0 + j) * s_x;
          const float* from = taps + j * g.c;
          for (int64_t c = 0; c < g.c; ++c) to[c * s_c] += from[c];
        }
      }
    }
  }
}

}  // namespace

at::Tensor few_channel_input_gradient(const at::Tensor& grad_out, const at::Tensor& weight,
                                      const ConvolutionGeometry& g, at::MemoryFormat format) {
  at::internal::lazy_init_num_threads();  // this thread's OpenMP team size = libtorch's thread count
  const int64_t k = g.kh * g.kw * g.c;
  // G: one row of O gradients per output pixel (channels-last memory is exactly that matrix); W: (O, kh*kw*C) with
  // the columns ordered (kernel row, kernel column, channel), so one window row is contiguous in the product.
  const auto grad = grad_out.contiguous(at::MemoryFormat::ChannelsLast);
  const auto wm = weight.permute({0, 2, 3, 1}).contiguous();
  auto result = at::empty({g.n, g.c, g.h, g.w}, grad_out.options(), format);  // each task zeroes its own rows
  const int64_t s_n = result.stride(0), s_c = result.stride(1), s_y = result.stride(2), s_x = result.stride(3);
  const float* gp = grad.data_ptr<float>();
  const float* wp = wm.data_ptr<float>();
  float* rp = result.data_ptr<float>();
  const int64_t bands = (g.h + kBandRows - 1) / kBandRows;

  at::parallel_for(0, g.n * bands, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> product(kProductRows * g.ow * k);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / bands, y0 = (task % bands) * kBandRows, y1 = std::min(g.h, y0 + kBandRows);
      float* image = rp + n * s_n;
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = 0; x < g.w; ++x) image[c * s_c + y * s_y + x * s_x] = 0.0f;
      // Output rows whose window reaches image rows [y0, y1).
      const int64_t first = y0 + g.ph - g.kh + 1;
      const int64_t oh0 = first <= 0 ? 0 : (first + g.sh - 1) / g.sh;
      const int64_t oh1 = std::min(g.oh - 1, (y1 - 1 + g.ph) / g.sh);
      for (int64_t block = oh0; block <= oh1; block += kProductRows) {
        const int64_t rows = std::min(kProductRows, oh1 - block + 1);
        // Inside libtorch's parallel region oneDNN's sgemm runs on this thread alone.
        const auto status = dnnl_sgemm('N', 'N', rows * g.ow, k, g.o, 1.0f, gp + (n * g.oh + block) * g.ow * g.o,
                                       g.o, wp, k, 0.0f, product.data(), k);
        TORCH_CHECK(status == dnnl_success, "oneDNN sgemm failed with status ", static_cast<int>(status));
        add_windows(g, product.data(), block, rows, y0, y1, image, s_c, s_y, s_x);
      }
    }
  });
  return result;
}

}  // namespace mipin

#endif  // MIPIN_WITH_ONEDNN
