// Convolution over an input with few channels (an image: 1-4), whose input gradient is computed as one matrix
// product and a scatter instead of oneDNN's backward-data kernel (mt_conv2d_few_channels in mipin_torch.h).
//
// Why: a saliency gradient ends with the gradient of the first convolution with respect to the image. oneDNN
// vectorises its backward-data kernel over the input channels, and an image has three: on these AVX-512 cores the
// kernel runs 4-7x slower than the same layer's forward pass (batch 8, 2 threads: ResNet-50's 7x7/2 layer 44 ms
// against 8.5 ms forward, VGG-19's 3x3 layer 50 ms against 7 ms). That one layer is 6% of a ResNet-50 gradient pass.
// The same arithmetic as a product G (pixels x C_out) * W (C_out x kh*kw*C_in), each row of which holds one output
// pixel's contribution to its kh x kw window of the image, runs at the forward pass's speed with oneDNN's sgemm;
// adding those windows into the image (col2im) is cheap with 3 channels. Measured: 44 -> 18.5 ms (ResNet-50),
// 50 -> 15 ms (VGG-19), 4.2 -> 2.5 ms (MobileNetV2), docs/bench.md.
//
// Results: the forward pass is aten::conv2d's, unchanged. The input gradient sums the same products in another order,
// so it differs from aten's by float rounding: about 2e-7 of its largest value against a float64 reference, as
// oneDNN's own (tested: within 1e-6 of aten::convolution_backward). It is the last operation of the backward pass,
// with no rectifier below it, so the difference is not amplified. Each element is summed in a fixed order, whatever
// the thread count.
//
// Built with oneDNN's sgemm where the shim links oneDNN (as the Winograd path, MIPIN_WITH_ONEDNN); elsewhere, and for
// anything this path does not cover, the entry point runs aten::conv2d.

#include "mipin_torch.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

#if MIPIN_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

#if MIPIN_WITH_ONEDNN

// Inputs with at most this many channels take the path (an image: grey, RGB, RGBA).
constexpr int64_t kMaxInputChannels = 4;

// Work split: each task owns a band of this many image rows of one image, so no two tasks add into the same element
// (the output rows at a band's edge are multiplied by both neighbours: a few percent more arithmetic). The product is
// taken a few output rows at a time so that its block stays in the core's L2 cache before it is scattered.
constexpr int64_t kBandRows = 32;
constexpr int64_t kProductRows = 4;

struct Geometry {
  int64_t n, c, h, w;        // input (image) sizes
  int64_t o, kh, kw;         // output channels, kernel
  int64_t oh, ow;            // output spatial sizes
  int64_t sh, sw, ph, pw;    // stride, padding
};

// d(loss)/d(input) for grad_out (N x O x OH x OW), written straight into an N x C x H x W tensor of `format`.
at::Tensor input_gradient(const at::Tensor& grad_out, const at::Tensor& weight, const Geometry& g,
                          at::MemoryFormat format) {
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
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t out_row = block + r;
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t y = out_row * g.sh - g.ph + i;
            if (y < y0 || y >= y1) continue;
            float* image_row = image + y * s_y;
            const float* window_row = product.data() + r * g.ow * k + i * g.kw * g.c;
            for (int64_t out_col = 0; out_col < g.ow; ++out_col) {
              const int64_t x0 = out_col * g.sw - g.pw;
              const float* taps = window_row + out_col * k;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t x = x0 + j;
                if (x < 0 || x >= g.w) continue;
                float* to = image_row + x * s_x;
                const float* from = taps + j * g.c;
                for (int64_t c = 0; c < g.c; ++c) to[c * s_c] += from[c];
              }
            }
          }
        }
      }
    }
  });
  return result;
}

struct FewChannelConv2d : torch::autograd::Function<FewChannelConv2d> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const c10::optional<at::Tensor>& b, std::vector<int64_t> stride,
                            std::vector<int64_t> padding) {
    auto out = at::conv2d(x, w, b, stride, padding);
    ctx->save_for_backward({w});
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["channels_last"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
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
    const auto& grad = grads[0];
    at::Tensor grad_x;
    if (grad.defined() && ctx->needs_input_grad(0)) {
      if (c10::GradMode::is_enabled()) {
        // A double backward (create_graph) needs a differentiable input gradient: aten's is, the product's is not.
        auto shape_only = at::empty(sizes, grad.options(), format);
        grad_x = std::get<0>(at::convolution_backward(grad, shape_only, w, c10::nullopt, stride, padding, {1, 1},
                                                      false, {0, 0}, 1, {true, false, false}));
      } else {
        const Geometry g{sizes[0],  sizes[1],  sizes[2],  sizes[3],   w.size(0),  w.size(2),  w.size(3),
                         grad.size(2), grad.size(3), stride[0], stride[1], padding[0], padding[1]};
        grad_x = input_gradient(grad, w, g, format);
      }
    }
    // One entry per forward argument; the weight and bias are frozen (the path is only taken then).
    return {grad_x, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Whether the path covers this call: CPU float32, an input of 1-4 channels that requires a gradient while autograd
// records, one group, a frozen weight and bias. The forward pass validates the rest (aten::conv2d's errors).
bool eligible(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const auto plain = [](const at::Tensor& t) {
    return t.layout() == at::kStrided && t.device().is_cpu() && t.scalar_type() == at::kFloat && !t.requires_grad();
  };
  return c10::GradMode::is_enabled() && x.requires_grad() && x.layout() == at::kStrided && x.device().is_cpu() &&
         x.scalar_type() == at::kFloat && x.dim() == 4 && plain(w) && w.dim() == 4 && x.size(1) == w.size(1) &&
         x.size(1) <= kMaxInputChannels && (!b.defined() || plain(b));
}

#endif  // MIPIN_WITH_ONEDNN

}  // namespace

int mt_conv2d_few_channels(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                           int64_t pad_h, int64_t pad_w, mt_tensor* out) {
  const int status = mipin::guarded([&] {
    const auto& x = mipin::tensor_ref(input);
    const auto& w = mipin::tensor_ref(weight);
    const auto b = mipin::optional_tensor(bias);
    const auto optional_bias = b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt;
    at::Tensor result;
#if MIPIN_WITH_ONEDNN
    if (eligible(x, w, b))
      result = FewChannelConv2d::apply(x, w, optional_bias, std::vector<int64_t>{stride_h, stride_w},
                                       std::vector<int64_t>{pad_h, pad_w});
#endif
    if (!result.defined()) result = at::conv2d(x, w, optional_bias, {stride_h, stride_w}, {pad_h, pad_w});
    *out = mipin::new_handle(std::move(result));
  });
  // Named as mt_op_call names aten::conv2d, so errors read the same on either path.
  return mipin::named_failure(status, "aten::conv2d");
}
