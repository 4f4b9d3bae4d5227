// Helpers shared by the shim's source files: the error protocol of the C ABI and tensor handles.
#pragma once

#include "mipin_torch.h"

#include <ATen/ATen.h>
// c10::optional and c10::nullopt, which the shim uses because 1.13's aten takes them (from 2.4 they alias std's);
// newer ATen headers no longer include this header themselves.
#include <c10/util/Optional.h>

#include <stdexcept>
#include <string>

namespace mipin {

// The message mt_last_error returns: the last failure on this thread.
inline thread_local std::string g_last_error;

// An error raised by the shim itself (as opposed to libtorch), with its status code.
struct ShimError : std::runtime_error {
  int code;
  ShimError(int code, const std::string& message) : std::runtime_error(message), code(code) {}
};

template <class F>
int guarded(F&& body) {
  try {
    body();
    return MT_OK;
  } catch (const ShimError& e) {
    g_last_error = e.what();
    return e.code;
  } catch (const c10::Error& e) {
    g_last_error = e.what_without_backtrace();
    return MT_ERROR;
  } catch (const std::exception& e) {
    g_last_error = e.what();
    return MT_ERROR;
  } catch (...) {
    g_last_error = "unknown native error";
    return MT_ERROR;
  }
}

// Prefixes a failure's message with the operator it concerns ("aten::conv2d: ..."), as TorchException documents.
inline int named_failure(int status, const std::string& op) {
  if (status != MT_OK) g_last_error = op + ": " + g_last_error;
  return status;
}

inline void require(bool condition, const std::string& message) {
  if (!condition) throw ShimError(MT_INVALID_ARGUMENT, message);
}

inline at::Tensor& tensor_ref(mt_tensor handle) {
  require(handle != nullptr, "null tensor handle");
  return *static_cast<at::Tensor*>(handle);
}

// A handle for a result; undefined tensors (e.g. "no gradient") become null handles.
inline mt_tensor new_handle(at::Tensor t) {
  if (!t.defined()) return nullptr;
  return new at::Tensor(std::move(t));
}

inline at::Tensor optional_tensor(mt_tensor handle) {
  return handle ? *static_cast<at::Tensor*>(handle) : at::Tensor();
}

}  // namespace mipin
