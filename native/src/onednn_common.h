// Helpers shared by the shim's files that call oneDNN directly (winograd_conv2d.cpp, cached_direct_conv2d.cpp).
// Only included where MIPIN_WITH_ONEDNN is 1.
#pragma once

#include <ATen/ATen.h>
#include <oneapi/dnnl/dnnl.hpp>

namespace mipin::onednn {

// The one CPU engine of the process (libtorch's oneDNN calls use their own).
inline dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline dnnl::memory::dims dims_of(at::IntArrayRef sizes) { return dnnl::memory::dims(sizes.begin(), sizes.end()); }

// A float32 descriptor whose layout oneDNN chooses (its kernels want their own blocked weight layouts).
inline dnnl::memory::desc any_layout(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

}  // namespace mipin::onednn
