// MipIn native shim: the C ABI declared in include/mipin_torch.h, implemented over libtorch.
//
// The surface is deliberately small. Almost every tensor operation goes through one generic entry
// point (mt_op_call) that pushes boxed arguments onto an IValue stack and calls the operator through
// c10's dispatcher, exactly as TorchScript does; the C# side adds the typed wrappers. Hand-written
// entry points exist only where boxing is awkward: tensor creation and copies, autograd, global state.
//
// Rule: no C++ exception may cross the ABI. Every entry point runs inside guarded(), which turns
// c10::Error / std::exception into a status code and a per-thread message for mt_last_error().

#include "mipin_torch.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using mipin::guarded;
using mipin::new_handle;
using mipin::optional_tensor;
using mipin::require;
using mipin::ShimError;
using mipin::tensor_ref;

std::vector<at::Tensor> tensor_vector(const mt_tensor* handles, int64_t n) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(optional_tensor(handles[i]));
  return out;
}

void copy_string(const std::string& s, char* buffer, int64_t capacity) {
  require(buffer != nullptr && capacity > 0, "string buffer is empty");
  require(static_cast<int64_t>(s.size()) < capacity,
          "string buffer too small: need " + std::to_string(s.size() + 1) + " bytes");
  std::memcpy(buffer, s.c_str(), s.size() + 1);
}

c10::IValue to_ivalue(const mt_value& v) {
  switch (v.kind) {
    case MT_NONE:
      return c10::IValue();
    case MT_TENSOR:
      return v.p ? c10::IValue(*static_cast<at::Tensor*>(v.p)) : c10::IValue();
    case MT_INT:
      return c10::IValue(v.i);
    case MT_DOUBLE:
      return c10::IValue(v.d);
    case MT_BOOL:
      return c10::IValue(v.i != 0);
    case MT_INT_LIST: {
      auto p = static_cast<const int64_t*>(v.p);
      return c10::IValue(std::vector<int64_t>(p, p + v.n));
    }
    case MT_DOUBLE_LIST: {
      auto p = static_cast<const double*>(v.p);
      return c10::IValue(std::vector<double>(p, p + v.n));
    }
    case MT_TENSOR_LIST: {
      c10::List<at::Tensor> list;
      auto p = static_cast<const mt_tensor*>(v.p);
      for (int64_t i = 0; i < v.n; ++i) list.push_back(tensor_ref(p[i]));
      return c10::IValue(list);
    }
    case MT_OPTIONAL_TENSOR_LIST: {
      c10::List<c10::optional<at::Tensor>> list;
      auto p = static_cast<const mt_tensor*>(v.p);
      for (int64_t i = 0; i < v.n; ++i) {
        if (p[i]) list.push_back(c10::optional<at::Tensor>(tensor_ref(p[i])));
        else list.push_back(c10::nullopt);
      }
      return c10::IValue(list);
    }
    case MT_STRING:
      require(v.p != nullptr, "null string argument");
      return c10::IValue(std::string(static_cast<const char*>(v.p)));
    case MT_DEVICE:
      require(v.p != nullptr, "null device argument");
      return c10::IValue(c10::Device(std::string(static_cast<const char*>(v.p))));
    case MT_BOOL_LIST: {
      c10::List<bool> list;
      auto p = static_cast<const uint8_t*>(v.p);
      for (int64_t i = 0; i < v.n; ++i) list.push_back(p[i] != 0);
      return c10::IValue(list);
    }
    case MT_GENERATOR:
      return v.p ? c10::IValue(*static_cast<at::Generator*>(v.p)) : c10::IValue();
    default:
      throw ShimError(MT_INVALID_ARGUMENT, "unknown argument kind " + std::to_string(v.kind));
  }
}

// Appends one boxed result to the caller's array, flattening tensor lists.
void append_result(const c10::IValue& value, mt_value* results, int64_t capacity, int64_t& count) {
  auto slot = [&]() -> mt_value& {
    require(count < capacity, "operator returned more than " + std::to_string(capacity) + " values");
    mt_value& r = results[count++];
    std::memset(&r, 0, sizeof(r));
    return r;
  };
  if (value.isTensor()) {
    mt_value& r = slot();
    r.kind = MT_TENSOR;
    r.p = new_handle(value.toTensor());
  } else if (value.isTensorList()) {
    for (const at::Tensor& t : value.toTensorVector()) {
      mt_value& r = slot();
      r.kind = MT_TENSOR;
      r.p = new_handle(t);
    }
  } else if (value.isInt()) {
    mt_value& r = slot();
    r.kind = MT_INT;
    r.i = value.toInt();
  } else if (value.isDouble()) {
    mt_value& r = slot();
    r.kind = MT_DOUBLE;
    r.d = value.toDouble();
  } else if (value.isBool()) {
    mt_value& r = slot();
    r.kind = MT_BOOL;
    r.i = value.toBool() ? 1 : 0;
  } else if (value.isNone()) {
    slot().kind = MT_NONE;
  } else if (value.isTuple()) {
    for (const c10::IValue& element : value.toTupleRef().elements())
      append_result(element, results, capacity, count);
  } else {
    throw ShimError(MT_INVALID_ARGUMENT, "unsupported result type " + value.tagKind());
  }
}

void free_results(mt_value* results, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (results[i].kind == MT_TENSOR) mt_tensor_free(results[i].p);
}

}  // namespace

extern "C" {

const char* mt_last_error(void) { return mipin::g_last_error.c_str(); }

int mt_version(char* buffer, int64_t capacity) {
  return guarded([&] { copy_string(TORCH_VERSION, buffer, capacity); });
}

int mt_op_lookup(const char* name, const char* overload, mt_op* out) {
  return guarded([&] {
    require(name != nullptr && out != nullptr, "mt_op_lookup: null operator name or output");
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload ? overload : ""});
    if (!handle) {
      std::string full = std::string(name) + (overload && *overload ? std::string(".") + overload : "");
      throw ShimError(MT_NOT_FOUND, "operator " + full + " is not registered in this libtorch");
    }
    *out = new c10::OperatorHandle(*handle);
  });
}

int mt_op_schema(mt_op op, char* buffer, int64_t capacity) {
  return guarded([&] {
    require(op != nullptr, "mt_op_schema: null operator handle");
    std::ostringstream s;
    s << static_cast<c10::OperatorHandle*>(op)->schema();
    copy_string(s.str(), buffer, capacity);
  });
}

int mt_op_call(mt_op op, const mt_value* args, int64_t nargs, mt_value* results, int64_t capacity,
               int64_t* nresults) {
  // Everything, reading the handle and its schema included, runs inside the wrapper: a null handle or output is an
  // error code, never a crash.
  std::string name = "operator";
  int status = guarded([&] {
    require(nresults != nullptr, "mt_op_call: null result count");
    *nresults = 0;
    require(op != nullptr, "mt_op_call: null operator handle");
    require(nargs == 0 || args != nullptr, "mt_op_call: null arguments");
    require(capacity == 0 || results != nullptr, "mt_op_call: null results");
    const auto& handle = *static_cast<c10::OperatorHandle*>(op);
    const auto& schema = handle.schema();
    name = schema.name();
    const auto& declared = schema.arguments();
    require(nargs <= static_cast<int64_t>(declared.size()),
            schema.name() + ": given " + std::to_string(nargs) + " arguments, the schema has " +
                std::to_string(declared.size()));
    torch::jit::Stack stack;
    stack.reserve(declared.size());
    for (int64_t i = 0; i < nargs; ++i) stack.push_back(to_ivalue(args[i]));
    // Boxed kernels need every schema argument on the stack: fill the defaults the caller left out.
    for (size_t i = static_cast<size_t>(nargs); i < declared.size(); ++i) {
      const auto& def = declared[i].default_value();
      require(def.has_value(), schema.name() + ": argument '" + declared[i].name() + "' has no default");
      stack.push_back(*def);
    }
    handle.callBoxed(stack);
    int64_t count = 0;
    try {
      for (const auto& value : stack) append_result(value, results, capacity, count);
    } catch (...) {
      free_results(results, count);
      throw;
    }
    *nresults = count;
  });
  return mipin::named_failure(status, name);
}

int mt_tensor_from_data(const void* data, int32_t dtype, const int64_t* shape, int64_t ndim,
                        const char* device, mt_tensor* out) {
  return guarded([&] {
    at::IntArrayRef sizes(shape, static_cast<size_t>(ndim));
    at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(static_cast<c10::ScalarType>(dtype)));
    if (t.nbytes() > 0) {
      require(data != nullptr, "no data for a non-empty tensor");
      std::memcpy(t.data_ptr(), data, t.nbytes());
    }
    if (device && std::strcmp(device, "cpu") != 0) t = t.to(c10::Device(std::string(device)));
    *out = new at::Tensor(std::move(t));
  });
}

int mt_tensor_copy_to(mt_tensor handle, void* dst, int64_t nbytes) {
  return guarded([&] {
    at::Tensor t = tensor_ref(handle).detach().to(at::kCPU).contiguous();
    require(static_cast<int64_t>(t.nbytes()) == nbytes,
            "copy size mismatch: tensor has " + std::to_string(t.nbytes()) + " bytes, buffer " +
                std::to_string(nbytes));
    if (nbytes > 0) std::memcpy(dst, t.data_ptr(), t.nbytes());
  });
}

void mt_tensor_free(mt_tensor t) { delete static_cast<at::Tensor*>(t); }

int mt_tensor_ndim(mt_tensor t, int64_t* out) {
  return guarded([&] { *out = tensor_ref(t).dim(); });
}

int mt_tensor_shape(mt_tensor t, int64_t* out, int64_t capacity) {
  return guarded([&] {
    const at::Tensor& x = tensor_ref(t);
    require(x.dim() <= capacity, "shape buffer too small");
    for (int64_t i = 0; i < x.dim(); ++i) out[i] = x.size(i);
  });
}

int mt_tensor_dtype(mt_tensor t, int32_t* out) {
  return guarded([&] { *out = static_cast<int32_t>(tensor_ref(t).scalar_type()); });
}

int mt_tensor_device(mt_tensor t, char* buffer, int64_t capacity) {
  return guarded([&] { copy_string(tensor_ref(t).device().str(), buffer, capacity); });
}

int mt_tensor_same(mt_tensor a, mt_tensor b, int32_t* out) {
  return guarded([&] { *out = tensor_ref(a).is_same(tensor_ref(b)) ? 1 : 0; });
}

int mt_tensor_requires_grad(mt_tensor t, int32_t* out) {
  return guarded([&] { *out = tensor_ref(t).requires_grad() ? 1 : 0; });
}

int mt_tensor_set_requires_grad(mt_tensor t, int32_t value) {
  return guarded([&] { tensor_ref(t).set_requires_grad(value != 0); });
}

int mt_tensor_grad(mt_tensor t, mt_tensor* out) {
  return guarded([&] { *out = new_handle(tensor_ref(t).grad()); });
}

int mt_tensor_set_grad(mt_tensor t, mt_tensor grad) {
  return guarded([&] { tensor_ref(t).mutable_grad() = optional_tensor(grad); });
}

int mt_tensor_is_contiguous(mt_tensor t, int32_t memory_format, int32_t* out) {
  return guarded([&] {
    require(memory_format == 0 || memory_format == 2 || memory_format == 3,
            "memory format must be 0 (contiguous), 2 (channels-last) or 3 (channels-last 3-d)");
    *out = tensor_ref(t).is_contiguous(static_cast<c10::MemoryFormat>(memory_format)) ? 1 : 0;
  });
}

int mt_tensor_version(mt_tensor t, int64_t* out) {
  return guarded([&] { *out = static_cast<int64_t>(tensor_ref(t)._version()); });
}

int mt_tensor_is_leaf(mt_tensor t, int32_t* out) {
  return guarded([&] { *out = tensor_ref(t).is_leaf() ? 1 : 0; });
}

int mt_backward(const mt_tensor* outputs, const mt_tensor* grad_outputs, int64_t n, int32_t retain_graph,
                int32_t create_graph) {
  return guarded([&] {
    auto outs = tensor_vector(outputs, n);
    auto grads = grad_outputs ? tensor_vector(grad_outputs, n) : std::vector<at::Tensor>(n);
    torch::autograd::backward(outs, grads, c10::optional<bool>(retain_graph != 0), create_graph != 0);
  });
}

int mt_autograd_grad(const mt_tensor* outputs, const mt_tensor* grad_outputs, int64_t noutputs,
                     const mt_tensor* inputs, int64_t ninputs, int32_t retain_graph, int32_t create_graph,
                     int32_t allow_unused, mt_tensor* results) {
  return guarded([&] {
    auto outs = tensor_vector(outputs, noutputs);
    auto grads = grad_outputs ? tensor_vector(grad_outputs, noutputs) : std::vector<at::Tensor>(noutputs);
    auto ins = tensor_vector(inputs, ninputs);
    auto computed = torch::autograd::grad(outs, ins, grads, c10::optional<bool>(retain_graph != 0),
                                          create_graph != 0, allow_unused != 0);
    for (int64_t i = 0; i < ninputs; ++i) results[i] = new_handle(computed[i]);
  });
}

int mt_grad_enabled(int32_t* out) {
  return guarded([&] { *out = c10::GradMode::is_enabled() ? 1 : 0; });
}

int mt_set_grad_enabled(int32_t enabled) {
  return guarded([&] { c10::GradMode::set_enabled(enabled != 0); });
}

int mt_generator_new(uint64_t seed, const char* device, mt_generator* out) {
  return guarded([&] {
    // A clone of the device's default generator type, reseeded: works for CPU and CUDA without CUDA headers.
    at::Generator base = at::globalContext().defaultGenerator(c10::Device(std::string(device ? device : "cpu")));
    at::Generator fresh;
    {
      std::lock_guard<std::mutex> lock(base.mutex());
      fresh = base.clone();
    }
    fresh.set_current_seed(seed);
    *out = new at::Generator(std::move(fresh));
  });
}

void mt_generator_free(mt_generator g) { delete static_cast<at::Generator*>(g); }

int mt_manual_seed(uint64_t seed) {
  return guarded([&] { at::manual_seed(seed); });
}

int mt_set_num_threads(int32_t n) {
  return guarded([&] {
    require(n > 0, "thread count must be positive");
    at::set_num_threads(n);
  });
}

int mt_get_num_threads(int32_t* out) {
  return guarded([&] { *out = at::get_num_threads(); });
}

int mt_cuda_is_available(int32_t* out) {
  return guarded([&] { *out = at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0 ? 1 : 0; });
}

int mt_cuda_device_count(int32_t* out) {
  return guarded([&] { *out = at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0; });
}

int mt_cuda_synchronize(int32_t device) {
  return guarded([&] {
    require(at::hasCUDA(), "CUDA is not available in this libtorch build");
    at::detail::getCUDAHooks().deviceSynchronize(device);
  });
}

}  // extern "C"
