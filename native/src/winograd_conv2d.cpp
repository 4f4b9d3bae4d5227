// Winograd 3x3 convolution on CPU through oneDNN, with autograd (mt_conv2d_winograd in mipin_torch.h).
//
// Why: libtorch's CPU convolution always asks oneDNN for the direct algorithm. For 3x3, stride-1 layers oneDNN also
// has F(4x4, 3x3) Winograd kernels (jit_wino_4x3), which on these AVX-512 cores run 2.2-3.1x faster than direct, in
// the forward pass and in the input-gradient pass alike (docs/bench.md, "Winograd convolutions"). The price is
// rounding: Winograd transforms the tiles, so results differ from direct convolution by about 1e-6 relative, the
// size of the differences cuDNN's own Winograd kernels give PyTorch users on GPUs. It is therefore opt-in
// (MIPIN_CONVOLUTION=winograd), and anything oneDNN's Winograd kernels do not cover falls back to aten::convolution.
//
// Only built where oneDNN's headers are found and libtorch uses the same shared libdnnl (Debian's libtorch-dev);
// elsewhere mt_winograd_available reports 0 and the entry point runs aten::convolution.

#include "mipin_torch.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#if MIPIN_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "onednn_common.h"
#endif

namespace {

at::Tensor direct_conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad_h, int64_t pad_w) {
  return at::conv2d(x, w, b, {1, 1}, {pad_h, pad_w});
}

#if MIPIN_WITH_ONEDNN

using dnnl::memory;
using tag = memory::format_tag;
using mipin::onednn::any_layout;
using mipin::onednn::cpu_engine;
using mipin::onednn::dims_of;

// The oneDNN layout tag of a dense 4-D tensor: NHWC for channels-last, NCHW for contiguous, else none.
bool layout_of(const at::Tensor& t, tag& out) {
  if (t.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    out = tag::nhwc;
    return true;
  }
  if (t.is_contiguous()) {
    out = tag::nchw;
    return true;
  }
  return false;
}

// The ATen memory format of a oneDNN layout tag from layout_of.
at::MemoryFormat memory_format_of(tag layout) {
  return layout == tag::nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Whether oneDNN's Winograd kernels may take this convolution at all (the kernels decide the rest). Anything else
// goes to aten, which also gives the usual errors for bad arguments.
bool eligible(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  tag unused;
  if (x.layout() != at::kStrided || w.layout() != at::kStrided || (b.defined() && b.layout() != at::kStrided))
    return false;
  return x.device().is_cpu() && w.device().is_cpu() && x.scalar_type() == at::kFloat &&
         w.scalar_type() == at::kFloat && x.dim() == 4 && w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3 &&
         x.size(1) == w.size(1) && layout_of(x, unused) &&
         (!b.defined() || (b.device().is_cpu() && b.scalar_type() == at::kFloat && b.dim() == 1 &&
                           b.size(0) == w.size(0)));
}

// A tensor's data as oneDNN memory in its own layout; a reorder into `wanted` when that differs.
memory as_memory(const at::Tensor& t, tag layout, const memory::desc& wanted, dnnl::stream& stream) {
  memory user(memory::desc(dims_of(t.sizes()), memory::data_type::f32, layout), cpu_engine(), t.data_ptr());
  if (user.get_desc() == wanted) return user;
  memory converted(wanted, cpu_engine());
  dnnl::reorder(user, converted).execute(stream, user, converted);
  return converted;
}

// Copies oneDNN memory into a new tensor of `sizes` in `layout` (a reorder when the layouts differ).
at::Tensor to_tensor(memory m, at::IntArrayRef sizes, tag layout, dnnl::stream& stream) {
  auto out = at::empty(sizes, at::TensorOptions().dtype(at::kFloat), memory_format_of(layout));
  memory user(memory::desc(dims_of(sizes), memory::data_type::f32, layout), cpu_engine(), out.data_ptr());
  dnnl::reorder(m, user).execute(stream, m, user);
  return out;
}

// The Winograd forward descriptor of a 3x3, stride-1 convolution; oneDNN picks every layout (tag::any).
dnnl::convolution_forward::desc forward_desc(at::IntArrayRef x_sizes, at::IntArrayRef w_sizes, bool with_bias,
                                             int64_t pad_h, int64_t pad_w) {
  const auto n = x_sizes[0], oc = w_sizes[0], oh = x_sizes[2] + 2 * pad_h - 2, ow = x_sizes[3] + 2 * pad_w - 2;
  const memory::dims padding{pad_h, pad_w};
  if (with_bias)
    return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd, any_layout(dims_of(x_sizes)),
            any_layout(dims_of(w_sizes)), any_layout({oc}), any_layout({n, oc, oh, ow}), {1, 1}, padding, padding};
  return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd, any_layout(dims_of(x_sizes)),
          any_layout(dims_of(w_sizes)), any_layout({n, oc, oh, ow}), {1, 1}, padding, padding};
}

// Forward pass; false when oneDNN has no Winograd kernel for it.
bool winograd_forward(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& b_in, int64_t pad_h,
                      int64_t pad_w, at::Tensor& out) {
  at::internal::lazy_init_num_threads();  // this thread's OpenMP team size = libtorch's thread count
  tag layout;
  layout_of(x_in, layout);
  const auto w = w_in.contiguous();
  const auto b = b_in.defined() ? b_in.contiguous() : b_in;
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = dnnl::convolution_forward::primitive_desc(forward_desc(x_in.sizes(), w.sizes(), b.defined(), pad_h, pad_w),
                                                  cpu_engine());
  } catch (const dnnl::error&) {
    return false;
  }
  dnnl::stream stream(cpu_engine());
  auto src = as_memory(x_in, layout, pd.src_desc(), stream);
  auto weights = as_memory(w, tag::oihw, pd.weights_desc(), stream);
  memory dst(pd.dst_desc(), cpu_engine());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (b.defined()) args.emplace(DNNL_ARG_BIAS, as_memory(b, tag::a, pd.bias_desc(), stream));
  dnnl::convolution_forward(pd).execute(stream, args);
  out = to_tensor(dst, pd.dst_desc().dims(), layout, stream);
  stream.wait();
  return true;
}

// Gradient with respect to the input; false when oneDNN has no Winograd kernel for it.
bool winograd_backward_data(const at::Tensor& grad_out, const at::Tensor& w_in, at::IntArrayRef input_sizes,
                            tag layout, int64_t pad_h, int64_t pad_w, at::Tensor& grad_in) {
  at::internal::lazy_init_num_threads();
  const auto w = w_in.contiguous();
  const memory::dims padding{pad_h, pad_w};
  dnnl::convolution_backward_data::primitive_desc pd;
  try {
    auto hint = dnnl::convolution_forward::primitive_desc(forward_desc(input_sizes, w.sizes(), false, pad_h, pad_w),
                                                         cpu_engine());
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_winograd, any_layout(dims_of(input_sizes)),
                                               any_layout(dims_of(w.sizes())), any_layout(dims_of(grad_out.sizes())),
                                               {1, 1}, padding, padding);
    pd = dnnl::convolution_backward_data::primitive_desc(desc, cpu_engine(), hint);
  } catch (const dnnl::error&) {
    return false;
  }
  tag grad_layout = tag::nchw;
  const auto g = layout_of(grad_out, grad_layout) ? grad_out : grad_out.contiguous();
  dnnl::stream stream(cpu_engine());
  auto diff_dst = as_memory(g, grad_layout, pd.diff_dst_desc(), stream);
  auto weights = as_memory(w, tag::oihw, pd.weights_desc(), stream);
  memory diff_src(pd.diff_src_desc(), cpu_engine());
  dnnl::convolution_backward_data(pd).execute(
      stream, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diff_src}});
  grad_in = to_tensor(diff_src, input_sizes, layout, stream);
  stream.wait();
  return true;
}

// The autograd node: Winograd for the forward pass and the input gradient; the weight and bias gradients, needed
// only when training, come from aten::convolution_backward (direct), so they are exactly PyTorch's. The bias is
// optional: absent, it is no input of the node (autograd cannot take an undefined tensor as one), so the node's
// inputs are x, w and, when present, b.
struct WinogradConv2d : torch::autograd::Function<WinogradConv2d> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, at::Tensor w,
                            c10::optional<at::Tensor> bias, int64_t pad_h, int64_t pad_w) {
    const auto b = bias.value_or(at::Tensor());
    at::Tensor out;
    if (!winograd_forward(x, w, b, pad_h, pad_w, out)) out = direct_conv2d(x, w, b, pad_h, pad_w);
    // The input is kept only for a weight gradient; an input gradient needs its shape and layout alone, so frozen
    // models free each activation as early as the direct path lets them.
    const bool weight_grad = w.requires_grad() || (b.defined() && b.requires_grad());
    ctx->save_for_backward({weight_grad ? x : at::Tensor(), w});
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["channels_last"] = x.is_contiguous(at::MemoryFormat::ChannelsLast);
    ctx->saved_data["pad_h"] = pad_h;
    ctx->saved_data["pad_w"] = pad_w;
    ctx->saved_data["has_bias"] = b.defined();
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto layout = ctx->saved_data["channels_last"].toBool() ? tag::nhwc : tag::nchw;
    const auto pad_h = ctx->saved_data["pad_h"].toInt(), pad_w = ctx->saved_data["pad_w"].toInt();
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    const auto& grad = grads[0];
    at::Tensor grad_x, grad_w, grad_b;
    // A double backward (create_graph) needs a differentiable input gradient: aten's is, oneDNN's output is not.
    const bool differentiable = c10::GradMode::is_enabled();
    if (ctx->needs_input_grad(0) &&
        (differentiable || !winograd_backward_data(grad, w, sizes, layout, pad_h, pad_w, grad_x))) {
      auto shape_only = x.defined() ? x : at::empty(sizes, grad.options(), memory_format_of(layout));
      grad_x = std::get<0>(at::convolution_backward(grad, shape_only, w, c10::nullopt, {1, 1}, {pad_h, pad_w},
                                                    {1, 1}, false, {0, 0}, 1, {true, false, false}));
    }
    const bool need_w = ctx->needs_input_grad(1), need_b = has_bias && ctx->needs_input_grad(2);
    if (need_w || need_b) {
      std::vector<int64_t> bias_sizes{w.size(0)};
      auto r = at::convolution_backward(grad, x, w, has_bias ? c10::optional<at::IntArrayRef>(bias_sizes) : c10::nullopt,
                                        {1, 1}, {pad_h, pad_w}, {1, 1}, false, {0, 0}, 1, {false, need_w, need_b});
      grad_w = std::get<1>(r);
      grad_b = std::get<2>(r);
    }
    // One entry per forward argument; autograd drops those of non-variables (an absent bias, the paddings).
    return {grad_x, grad_w, grad_b, at::Tensor(), at::Tensor()};
  }
};

// Whether this CPU has oneDNN's Winograd kernels (AVX-512 in oneDNN 2.6): asked once with a small convolution.
bool cpu_has_winograd() {
  static const bool available = [] {
    try {
      dnnl::convolution_forward::primitive_desc(forward_desc({1, 16, 8, 8}, {16, 16, 3, 3}, false, 1, 1),
                                                cpu_engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return available;
}

#endif  // MIPIN_WITH_ONEDNN

}  // namespace

int mt_winograd_available(int32_t* out) {
  return mipin::guarded([&] {
#if MIPIN_WITH_ONEDNN
    *out = cpu_has_winograd() ? 1 : 0;
#else
    *out = 0;
#endif
  });
}

int mt_conv2d_winograd(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t pad_h, int64_t pad_w,
                       mt_tensor* out) {
  const int status = mipin::guarded([&] {
    const auto& x = mipin::tensor_ref(input);
    const auto& w = mipin::tensor_ref(weight);
    const auto b = mipin::optional_tensor(bias);
    at::Tensor result;
#if MIPIN_WITH_ONEDNN
    if (eligible(x, w, b)) {
      const bool record = c10::GradMode::is_enabled() &&
                          (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
      if (record)
        result = WinogradConv2d::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, pad_h, pad_w);
      else
        winograd_forward(x, w, b, pad_h, pad_w, result);  // leaves result undefined where the kernels refuse
    }
#endif
    if (!result.defined()) result = direct_conv2d(x, w, b, pad_h, pad_w);
    *out = mipin::new_handle(std::move(result));
  });
  // Named as mt_op_call names aten::conv2d, so errors read the same on either path.
  return mipin::named_failure(status, "aten::conv2d");
}
