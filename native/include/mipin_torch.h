/*
 * MipIn native shim: a flat C ABI over libtorch.
 *
 * Conventions
 *  - Every entry point returns 0 on success and a non-zero status on failure; the failure message is
 *    kept per thread and read with mt_last_error(). No C++ exception ever crosses this boundary.
 *  - A tensor handle (mt_tensor) owns one reference to an at::Tensor and is released with
 *    mt_tensor_free. A null handle means "undefined tensor" (e.g. no gradient yet).
 *  - Operators are called through the boxed dispatcher: look an operator up once (mt_op_lookup),
 *    then call it with positional arguments (mt_op_call). Trailing arguments that have a schema default
 *    may be left out; the shim pushes their defaults.
 */
#ifndef MIPIN_TORCH_H
#define MIPIN_TORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MT_API __attribute__((visibility("default")))

typedef void* mt_tensor;
typedef void* mt_op;
typedef void* mt_generator;

/* Status codes. */
enum {
  MT_OK = 0,
  MT_ERROR = 1,            /* libtorch raised (shape error, dtype error, ...) */
  MT_INVALID_ARGUMENT = 2, /* the shim was called wrongly (bad kind, too few outputs, ...) */
  MT_NOT_FOUND = 3,        /* operator or overload not registered */
};

/* Kinds of mt_value: one boxed argument or result. */
enum {
  MT_NONE = 0,
  MT_TENSOR = 1,      /* p: mt_tensor (null = None) */
  MT_INT = 2,         /* i */
  MT_DOUBLE = 3,      /* d */
  MT_BOOL = 4,        /* i != 0 */
  MT_INT_LIST = 5,    /* p: const int64_t*, n */
  MT_DOUBLE_LIST = 6, /* p: const double*, n */
  MT_TENSOR_LIST = 7, /* p: const mt_tensor*, n (as an argument); results are flattened to MT_TENSOR */
  MT_STRING = 8,      /* p: const char* (UTF-8, NUL-terminated) */
  MT_DEVICE = 9,      /* p: const char* such as "cpu", "cuda", "cuda:1" */
  MT_BOOL_LIST = 10,  /* p: const uint8_t*, n */
  MT_OPTIONAL_TENSOR_LIST = 11, /* p: const mt_tensor*, n; null entries are None (aten::index) */
  MT_GENERATOR = 12,  /* p: mt_generator (null = None: the device's default generator) */
};

typedef struct mt_value {
  int32_t kind;
  int32_t reserved;
  int64_t i;
  double d;
  void* p;
  int64_t n;
} mt_value;

/* Errors and library information. */
MT_API const char* mt_last_error(void);
MT_API int mt_version(char* buffer, int64_t capacity);

/* Operators. */
MT_API int mt_op_lookup(const char* name, const char* overload, mt_op* out);
MT_API int mt_op_schema(mt_op op, char* buffer, int64_t capacity);
MT_API int mt_op_call(mt_op op, const mt_value* args, int64_t nargs, mt_value* results, int64_t capacity,
                      int64_t* nresults);

/* Tensors. */
MT_API int mt_tensor_from_data(const void* data, int32_t dtype, const int64_t* shape, int64_t ndim,
                               const char* device, mt_tensor* out);
MT_API int mt_tensor_copy_to(mt_tensor t, void* dst, int64_t nbytes);
MT_API void mt_tensor_free(mt_tensor t);
MT_API int mt_tensor_ndim(mt_tensor t, int64_t* out);
MT_API int mt_tensor_shape(mt_tensor t, int64_t* out, int64_t capacity);
MT_API int mt_tensor_dtype(mt_tensor t, int32_t* out);
MT_API int mt_tensor_device(mt_tensor t, char* buffer, int64_t capacity);
MT_API int mt_tensor_same(mt_tensor a, mt_tensor b, int32_t* out);
/* Whether the tensor is dense in memory_format (a c10::MemoryFormat value: 0 contiguous, 2 channels-last). */
MT_API int mt_tensor_is_contiguous(mt_tensor t, int32_t memory_format, int32_t* out);
/* Autograd's version counter: incremented by every in-place change of the tensor's data. */
MT_API int mt_tensor_version(mt_tensor t, int64_t* out);

/* Autograd. */
MT_API int mt_tensor_requires_grad(mt_tensor t, int32_t* out);
MT_API int mt_tensor_set_requires_grad(mt_tensor t, int32_t value);
MT_API int mt_tensor_grad(mt_tensor t, mt_tensor* out);
MT_API int mt_tensor_set_grad(mt_tensor t, mt_tensor grad);
MT_API int mt_tensor_is_leaf(mt_tensor t, int32_t* out);
MT_API int mt_backward(const mt_tensor* outputs, const mt_tensor* grad_outputs, int64_t n, int32_t retain_graph,
                       int32_t create_graph);
MT_API int mt_autograd_grad(const mt_tensor* outputs, const mt_tensor* grad_outputs, int64_t noutputs,
                            const mt_tensor* inputs, int64_t ninputs, int32_t retain_graph, int32_t create_graph,
                            int32_t allow_unused, mt_tensor* results);
/* In-place clamp to [lo, hi] (ReLU6: 0, 6) in one pass; while autograd records, the derivative is read from the
 * clamped output (hardtanh_backward), as aten::hardtanh_'s is. aten::hardtanh_ itself costs two more passes.
 * The backward masks the incoming gradient in place when nothing else holds it (src/rectifier_in_place.cpp). */
MT_API int mt_clip_(mt_tensor t, double lo, double hi);
/* In-place ReLU: aten::relu_'s values and gradient (threshold_backward on the output), with the backward masking the
 * incoming gradient in place when nothing else holds it (src/rectifier_in_place.cpp). */
MT_API int mt_relu_(mt_tensor t);
/* 2-D convolution, 3x3 kernel, stride 1, dilation 1, groups 1, with oneDNN's Winograd kernels on CPU (forward and
 * input gradient; weight and bias gradients direct). Differs from aten::convolution by rounding (about 1e-6
 * relative); anything Winograd does not cover runs aten::convolution. bias may be null. */
MT_API int mt_conv2d_winograd(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t pad_h, int64_t pad_w,
                              mt_tensor* out);
/* 2-D convolution (dilation 1, one group) with a frozen weight and bias: on channels-last CPU data, aten::conv2d's
 * oneDNN primitive with the primitive and reordered weight cached between calls (same values); while autograd
 * records and the input requires a gradient, an input gradient computed faster where the shim knows how (equal to
 * aten's up to float rounding; src/frozen_conv2d.cpp). Anything else runs aten::conv2d. bias may be null. */
MT_API int mt_conv2d_frozen(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                            int64_t pad_h, int64_t pad_w, mt_tensor* out);
/* mt_conv2d_frozen with `groups` groups (weight O x C/groups x kh x kw) followed by an in-place ReLU (relu != 0) or
 * clamp to [lo, hi] with mt_relu_'s / mt_clip_'s values and gradients. On the cached path the rectifier runs inside
 * the convolution (a oneDNN post-op), with or without autograd: the same values without another pass over the output.
 * A grouped convolution takes the cached path only without autograd (its input gradient is aten's). */
MT_API int mt_conv2d_frozen_rectified(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                      int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t groups, int32_t relu,
                                      double lo, double hi, mt_tensor* out);
/* mt_conv2d_frozen_rectified with one group, also returning `input` in *passed_input: while autograd records on the
 * frozen path, as this convolution's second output over the same memory, so that a residual block taking its
 * identity shortcut from there has the shortcut's gradient added inside this convolution's backward (no separate sum
 * of the block input's two gradients); otherwise the input itself. Both handles are the caller's. */
MT_API int mt_conv2d_frozen_rectified_passing_input(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                                    int64_t stride_w, int64_t pad_h, int64_t pad_w, int32_t relu,
                                                    double lo, double hi, mt_tensor* out, mt_tensor* passed_input);
/* mt_conv2d_frozen plus `accumulator` (a tensor of the output's sizes), then an in-place ReLU when relu != 0: the
 * values and gradients of conv2d, add_ into its output, and mt_relu_. Without autograd, on the cached path, the add
 * and the ReLU run inside the convolution (oneDNN post-ops) and the result is written into `accumulator` itself (a
 * residual block's sum without two more passes over the output); otherwise `accumulator` is left unchanged. Without
 * autograd the caller must not need `accumulator`'s old values afterwards. While autograd records, the kernel sums
 * into a copy and `accumulator` is left unchanged, whatever tensor it is. */
MT_API int mt_conv2d_frozen_accumulate(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h,
                                       int64_t stride_w, int64_t pad_h, int64_t pad_w, mt_tensor accumulator,
                                       int32_t relu, mt_tensor* out);
/* Activations in oneDNN's blocked layout between frozen convolutions (src/blocked_activations.cpp): a blocked tensor
 * is N x ceil(C/B) x H x W x B (channels past C zero), which only these functions read; B is 16 (nChw16c) on AVX-512
 * and 8 (nChw8c) on AVX2, the layouts oneDNN's kernels there are written for. While autograd records (an input that
 * requires grad), each call records a node: the reorders' gradients go through the opposite reorder, a
 * convolution's through its rectifier's mask and oneDNN's blocked backward-data kernel (frozen weights only, blocked
 * input only, not differentiable twice), and an accumulator is then summed into a copy.
 * mt_blocked_channels: B, or 0 when this build lacks them (oneDNN's headers not found) or oneDNN has no optimised
 * kernels for either layout on this CPU (the functions below then fail).
 * mt_to_blocked: a 4-D float32 CPU tensor in that layout; mt_from_blocked: back to channels-last N x C x H x W.
 * mt_conv2d_blocked: a frozen convolution (dilation 1) from a blocked input (or a contiguous N x C x H x W image) to a
 * blocked output, primitive and reordered weight cached as mt_conv2d_frozen's; rectifier 0 none, 1 ReLU, 2 clamp to
 * [lo, hi], inside the kernel; with a non-null `accumulator` (blocked, of the output's sizes) the output is added to
 * it before the rectifier, inside the kernel, and it is returned. Values differ from mt_conv2d_frozen's by float
 * rounding (other oneDNN kernels, another order of the input-channel sum). */
MT_API int mt_blocked_channels(int32_t* out);
MT_API int mt_to_blocked(mt_tensor input, mt_tensor* out);
MT_API int mt_from_blocked(mt_tensor input, int64_t channels, mt_tensor* out);
MT_API int mt_conv2d_blocked(mt_tensor input, mt_tensor weight, mt_tensor bias, int64_t stride_h, int64_t stride_w,
                             int64_t pad_h, int64_t pad_w, int64_t groups, int32_t rectifier, double lo, double hi,
                             mt_tensor accumulator, mt_tensor* out);
/* 1 when oneDNN runs channels-last convolutions on this CPU with its brgemm kernels (AVX-512), 0 with its older jit
 * kernels (AVX2 and others), -1 in a build without oneDNN's headers. Where 1, mt_conv2d_frozen's large 3x3 input
 * gradients run as forward convolutions over the transposed weight, and residual sums run inside the kernel (to the
 * last bit of conv2d + add); where 0, oneDNN's backward-data kernel (the faster there) and a separate add. */
MT_API int mt_brgemm_kernels(int32_t* out);
/* How many frozen convolutions (recorded or not) the calling thread has run with their forward kernel on blocked copies
 * of their input (AVX2: 3x3 stride-1 layers of 14x14 to 64x64 pixels; the values are those of the channels-last
 * kernel). For tests. */
MT_API int mt_blocked_layout_forwards(int64_t* out);
/* What mt_conv2d_frozen's cache keeps: the bytes of weights in oneDNN's layout, of weights still alive and of freed
 * weights (their copies go when the cache next adds an entry), and the number of prepared primitives. All -1 in a build
 * without oneDNN, which keeps none. */
MT_API int mt_frozen_cache_contents(int64_t* live_weight_bytes, int64_t* freed_weight_bytes, int64_t* primitives);
/* 1 when this build has the Winograd path (oneDNN headers found and libtorch on the shared libdnnl) and this CPU has
 * oneDNN's Winograd kernels (AVX-512 in oneDNN 2.6), else 0. */
MT_API int mt_winograd_available(int32_t* out);
/* Whether mt_conv2d_frozen* take the input gradients of 3x3, stride-1, ungrouped convolutions on channels-last data
 * through oneDNN's Winograd backward-data kernel (on = 1, the default) rather than direct kernels. The forward pass,
 * and so every ReLU gate, is unchanged; the gradient differs by float rounding (about 1e-6 of its largest value per
 * layer). Where the Winograd kernel is missing (no AVX-512, a build without oneDNN's headers) the direct kernels run. */
MT_API int mt_set_winograd_input_gradients(int32_t on);
MT_API int mt_grad_enabled(int32_t* out);
MT_API int mt_set_grad_enabled(int32_t enabled);

/* Random number generators: independent streams, so concurrent work stays deterministic. */
MT_API int mt_generator_new(uint64_t seed, const char* device, mt_generator* out);
MT_API void mt_generator_free(mt_generator g);

/* Global state. */
MT_API int mt_manual_seed(uint64_t seed);
MT_API int mt_set_num_threads(int32_t n);
MT_API int mt_get_num_threads(int32_t* out);
MT_API int mt_cuda_is_available(int32_t* out);
MT_API int mt_cuda_device_count(int32_t* out);
MT_API int mt_cuda_synchronize(int32_t device);

#ifdef __cplusplus
}
#endif
#endif
