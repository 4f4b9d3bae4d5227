// oneDNN's direct convolution with its primitive and reordered weight kept between calls (frozen_kernels.h).
//
// Why: oneDNN multiplies by weights in its own blocked layout, and libtorch's eager convolutions reorder every
// layer's weight into it on every call, forward and backward alike (PyTorch caches nothing). A gradient pass over
// ResNet-50 at batch 8 spends 26 ms of its 760 ms in those reorders; since our input-gradient passes take at most 8
// images, a batch of 32 pays them four times. A frozen model's weights do not change between calls, so the reordered
// copy is kept, keyed by the weight tensor (held weakly: a freed model's entries go when the next entry is added) and
// checked against the tensor's version counter, so an in-place change to the weight rebuilds it. The primitive of
// cached_direct_forward / cached_direct_backward_data is the one aten::conv2d runs for channels-last data (same
// descriptors, same kernel), so their results are aten's to the last bit (Torch/FrozenConvolutionTests checks this).
// cached_blocked_forward runs oneDNN's kernels for its blocked layout instead: the same values up to float rounding.

#include "frozen_kernels.h"

#if MIPIN_WITH_ONEDNN

#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "onednn_common.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace mipin {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using onednn::any_layout;
using onednn::cpu_engine;
using onednn::dims_of;

memory::desc channels_last(const memory::dims& dims) { return memory::desc(dims, memory::data_type::f32, tag::nhwc); }

// The weight's sizes as oneDNN sees them: O x I x kh x kw, or with groups G x O/G x I x kh x kw (the tensor's
// O x I x kh x kw with its output channels split into groups, as aten hands grouped weights to oneDNN).
memory::dims onednn_weight_dims(at::IntArrayRef w, int64_t groups) {
  if (groups == 1) return dims_of(w);
  return {groups, w[0] / groups, w[1], w[2], w[3]};
}

// A weight tensor as oneDNN memory in its own layout (OIHW contiguous or OHWI channels-last, grouped: GOIHW / GOHWI;
// w must be one of them).
memory weight_memory(const at::Tensor& w, int64_t groups) {
  const bool contiguous = w.is_contiguous();
  const auto layout = groups == 1 ? (contiguous ? tag::oihw : tag::ohwi) : (contiguous ? tag::goihw : tag::gohwi);
  return memory(memory::desc(onednn_weight_dims(w.sizes(), groups), memory::data_type::f32, layout), cpu_engine(),
                w.data_ptr());
}

// The weight in a layout weight_memory can describe.
at::Tensor dense_weight(const at::Tensor& w) {
  return w.is_contiguous() || w.is_contiguous(at::MemoryFormat::ChannelsLast) ? w : w.contiguous();
}

// Copies `from` into `to` (a reorder between their layouts) and waits for it.
void run_reorder(memory from, memory to) {
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
}

dnnl::primitive make_primitive(const dnnl::convolution_forward::primitive_desc& pd) {
  return dnnl::convolution_forward(pd);
}

dnnl::primitive make_primitive(const dnnl::convolution_backward_data::primitive_desc& pd) {
  return dnnl::convolution_backward_data(pd);
}

std::pair<memory::desc, memory::desc> data_layouts(const dnnl::convolution_forward::primitive_desc& pd) {
  return {pd.src_desc(), pd.dst_desc()};
}

std::pair<memory::desc, memory::desc> data_layouts(const dnnl::convolution_backward_data::primitive_desc& pd) {
  return {pd.diff_dst_desc(), pd.diff_src_desc()};
}

// The kernels a reordered weight serves: those on channels-last activations (forward and backward-data), or those on
// blocked ones (cached_blocked_forward).
enum class Family { ChannelsLast, Blocked };

// A layer's weight reordered into one oneDNN layout, valid while `source` (the layer's weight tensor) lives at
// `version`. Shared by every primitive that wants that layout: the passes of different batch sizes usually do.
struct ReorderedWeight {
  c10::weak_intrusive_ptr<c10::TensorImpl> source;
  int64_t version;
  memory::desc layout;
  memory weights;
  at::Tensor storage;  // owns the reordered weight's bytes
  Family family;
};

// One prepared convolution: the primitive, the reordered weight it multiplies by, and the scratch memory one
// execution needs (allocated per call, as aten does: a primitive that owned its scratch memory would keep it for as
// long as it is cached).
struct Prepared {
  c10::weak_intrusive_ptr<c10::TensorImpl> source;
  int64_t version;
  dnnl::primitive primitive;
  memory weights;
  at::Tensor weights_storage;  // keeps `weights` valid while a caller runs it, even if the cache drops its copy
  memory::desc scratchpad;
  // The layouts the primitive reads and writes its activations in (forward: source, destination; backward-data: output
  // gradient, input gradient): callers that let oneDNN choose them reorder into and out of these.
  memory::desc reads, writes;
};

// At most this many prepared convolutions are kept. A model keeps one per layer, input shape and kind (forward with
// or without post-ops, input gradient): ResNet-101's 104 layers at the few batch sizes of a score grain (its gradient
// passes of 8 images, their remainder, the whole batch) need over 1,000, and with 512 the cache emptied itself every
// pass. When full, only the primitives go: the reordered weights stay, so rebuilding costs no reorder.
constexpr size_t kMaxPrepared = 4096;
// At most this many layers' reordered weights are kept (live models' layers, as is and rotated-transposed: several
// slots' ResNet-152s need over 1,000; freed weights' copies go first).
constexpr size_t kMaxReordered = 4096;

std::mutex g_mutex;
std::unordered_map<std::string, Prepared> g_prepared;                       // by layer, transform and shapes
std::unordered_map<std::string, std::vector<ReorderedWeight>> g_reordered;  // by layer and transform

template <class Entry>
bool still_valid(const Entry& e, const at::Tensor& w) {
  auto alive = e.source.lock();
  return alive.get() == w.unsafeGetTensorImpl() && e.version == w._version();
}

// Whether an entry can never be used again: its weight was freed, or changed in place since (a new version).
template <class Entry>
bool stale(const Entry& e) {
  auto alive = e.source.lock();
  return !alive || alive->version_counter().current_version() != e.version;
}

// Drops the entries of freed or changed weights. Called before an entry is added: they used to stay until the cache
// was full, so a process that loads and frees models (a bench, tests, a standing silo across runs) kept a reordered
// copy of every freed model's weights, about 100 MB per ResNet-50. The walk over the entries costs far less than the
// primitive build or reorder that comes with a new one.
void drop_stale() {
  for (auto it = g_prepared.begin(); it != g_prepared.end();) it = stale(it->second) ? g_prepared.erase(it) : ++it;
  for (auto it = g_reordered.begin(); it != g_reordered.end();) {
    auto& copies = it->second;
    copies.erase(std::remove_if(copies.begin(), copies.end(), [](const ReorderedWeight& r) { return stale(r); }),
                 copies.end());
    it = copies.empty() ? g_reordered.erase(it) : ++it;
  }
}

// Before a prepared primitive is added: when still full, the primitives go and the reordered weights stay.
void make_room_for_primitive() {
  drop_stale();
  if (g_prepared.size() >= kMaxPrepared) g_prepared.clear();
}

// Before a reordered weight is added: when still full, everything goes (a prepared entry keeps its own weight alive
// while it runs).
void make_room_for_weight() {
  drop_stale();
  if (g_reordered.size() >= kMaxReordered) {
    g_prepared.clear();
    g_reordered.clear();
  }
}

std::string weight_key(const at::Tensor& w, int which) {
  std::ostringstream key;
  key << which << ':' << static_cast<const void*>(w.unsafeGetTensorImpl());
  return key.str();
}

std::string key_of(char kind, const at::Tensor& w, at::IntArrayRef data_sizes, at::IntArrayRef stride,
                   at::IntArrayRef padding, int64_t groups, int which, bool bias) {
  std::ostringstream key;
  key << kind << bias << weight_key(w, which) << ':' << data_sizes << stride << padding << 'g' << groups;
  return key.str();
}

// Drops `key`'s copies of the other family than `family`, and the prepared primitives that multiply by them: a layer's
// weight is kept for one family at a time. A process that runs a model both ways (a score grain after MIP-IN's
// training, whose forward passes run blocked) would otherwise keep two copies of every weight (ResNet-50: 94 MB more,
// which took a score shard's peak over 1.5 GB); switching back costs one reorder per layer (about 2% of a ResNet-50
// pass at batch 32). Call with g_mutex held.
void keep_one_family(const std::string& key, Family family) {
  auto it = g_reordered.find(key);
  if (it == g_reordered.end()) return;
  auto& copies = it->second;
  for (const auto& r : copies) {
    if (r.family == family) continue;
    for (auto p = g_prepared.begin(); p != g_prepared.end();)
      p = p->second.weights_storage.is_same(r.storage) ? g_prepared.erase(p) : ++p;
  }
  copies.erase(std::remove_if(copies.begin(), copies.end(), [&](const ReorderedWeight& r) { return r.family != family; }),
               copies.end());
}

// `w`'s weight (as `source_weight()` gives it, split into `groups`) in `layout`, for kernels of `family`: the kept copy
// when one is valid, else a new reorder (which drops the layer's copies of the other family). A kept copy of the other
// family can have the very layout wanted (the Winograd backward-data kernel's weight layout is the blocked forward
// kernel's): it then joins this family, and the layer's other copies go, as after a reorder.
template <class Source>
ReorderedWeight reordered(const at::Tensor& w, int which, int64_t groups, const memory::desc& layout, Family family,
                          Source source_weight) {
  const auto key = weight_key(w, which);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_reordered.find(key);
    if (it != g_reordered.end())
      for (auto& r : it->second)
        if (r.layout == layout && still_valid(r, w)) {
          if (r.family == family) return r;
          r.family = family;
          const ReorderedWeight kept = r;
          keep_one_family(key, family);  // may move r
          return kept;
        }
  }
  auto storage = at::empty({static_cast<int64_t>(layout.get_size() / sizeof(float))}, w.options());
  memory weights(layout, cpu_engine(), storage.data_ptr());
  const auto dense = dense_weight(source_weight());
  run_reorder(weight_memory(dense, groups), weights);
  std::lock_guard<std::mutex> lock(g_mutex);
  make_room_for_weight();  // drops this key's copies of an older version too; other layouts of this one stay
  keep_one_family(key, family);
  auto& copies = g_reordered[key];
  copies.push_back(
      {c10::weak_intrusive_ptr<c10::TensorImpl>(w.getIntrusivePtr()), w._version(), layout, weights, storage, family});
  return copies.back();
}

// The prepared convolution for `key`, built when missing or stale: `build` gives the primitive descriptor, `source`
// the weight to reorder into the primitive's layout (computed only when no kept copy has that layout).
template <class Desc, class Source, class Build>
Prepared prepared(const std::string& key, const at::Tensor& w, int which, int64_t groups, Family family,
                  Source source_weight, Build build) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_prepared.find(key);
    if (it != g_prepared.end() && still_valid(it->second, w)) return it->second;
  }
  const Desc pd = build();
  const auto weight = reordered(w, which, groups, pd.weights_desc(), family, source_weight);
  const auto [reads, writes] = data_layouts(pd);
  Prepared entry{c10::weak_intrusive_ptr<c10::TensorImpl>(w.getIntrusivePtr()),
                 w._version(),
                 make_primitive(pd),
                 weight.weights,
                 weight.storage,
                 pd.scratchpad_desc(),
                 reads,
                 writes};
  std::lock_guard<std::mutex> lock(g_mutex);
  // Another thread may have dropped this weight copy meanwhile (the other family's kernels ran): then the entry serves
  // this call only, rather than keeping a copy the cache no longer accounts for.
  auto copies = g_reordered.find(weight_key(w, which));
  if (copies == g_reordered.end() ||
      std::none_of(copies->second.begin(), copies->second.end(),
                   [&](const ReorderedWeight& r) { return r.storage.is_same(weight.storage); }))
    return entry;
  make_room_for_primitive();
  g_prepared.insert_or_assign(key, entry);
  return entry;
}

// Primitives get their scratch memory from the caller at each execution.
dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// User scratch memory and, when asked for, the destination's previous contents added (a sum post-op: the output
// accumulates into the memory it is written to) and then the rectifier (an eltwise post-op), in that order.
dnnl::primitive_attr attributes(const OutputRectifier& rectifier, bool accumulate = false) {
  auto attr = user_scratchpad();
  if (rectifier.kind == OutputRectifier::Kind::None && !accumulate) return attr;
  dnnl::post_ops ops;
  if (accumulate) ops.append_sum(1.0f);
  if (rectifier.kind == OutputRectifier::Kind::None) {
    attr.set_post_ops(ops);
    return attr;
  }
  if (rectifier.kind == OutputRectifier::Kind::Relu)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  else
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, static_cast<float>(rectifier.lo),
                       static_cast<float>(rectifier.hi));
  attr.set_post_ops(ops);
  return attr;
}

// Runs a prepared primitive with `args` and a scratch buffer of the size it asks for, freed on return.
void execute(const Prepared& entry, std::unordered_map<int, memory> args, const at::TensorOptions& options) {
  at::Tensor scratch;
  if (entry.scratchpad.get_size() > 0) {
    scratch = at::empty({static_cast<int64_t>(entry.scratchpad.get_size())}, options.dtype(at::kByte));
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(entry.scratchpad, cpu_engine(), scratch.data_ptr()));
  }
  dnnl::stream stream(cpu_engine());
  entry.primitive.execute(stream, args);
  stream.wait();
}

// `w`: the weight's O x I x kh x kw sizes, split into `groups` as onednn_weight_dims does.
dnnl::convolution_forward::desc forward_desc(const memory::desc& src, at::IntArrayRef w, int64_t groups, bool bias,
                                             const memory::desc& dst, at::IntArrayRef stride, at::IntArrayRef padding) {
  const memory::dims strides = dims_of(stride), pad = dims_of(padding);
  const auto weights = any_layout(onednn_weight_dims(w, groups));
  if (bias)
    return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, weights,
            memory::desc({w[0]}, memory::data_type::f32, tag::a), dst, strides, pad, pad};
  return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, weights, dst, strides, pad, pad};
}

dnnl::convolution_forward::desc forward_desc(at::IntArrayRef x, at::IntArrayRef w, int64_t groups, bool bias,
                                             at::IntArrayRef out, at::IntArrayRef stride, at::IntArrayRef padding) {
  return forward_desc(channels_last(dims_of(x)), w, groups, bias, channels_last(dims_of(out)), stride, padding);
}

// Runs `entry` from src to dst, with the bias when defined (O channels).
void execute_forward(const Prepared& entry, const memory& src, const memory& dst, const at::Tensor& bias, int64_t o,
                     const at::TensorOptions& options) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, entry.weights}, {DNNL_ARG_DST, dst}};
  at::Tensor b;
  if (bias.defined()) {
    b = bias.contiguous();
    args.emplace(DNNL_ARG_BIAS, memory({{o}, memory::data_type::f32, tag::a}, cpu_engine(), b.data_ptr()));
  }
  execute(entry, std::move(args), options);
}

// oneDNN's direct backward-data primitive from `dst` (the output gradient) to `src` (the input gradient), with the
// forward primitive of the same descriptors as its hint, as aten builds it; `w`: the weight's O x I x kh x kw sizes.
dnnl::convolution_backward_data::primitive_desc backward_data_primitive(const memory::desc& src, at::IntArrayRef w,
                                                                        int64_t groups, const memory::desc& dst,
                                                                        at::IntArrayRef stride, at::IntArrayRef padding) {
  const dnnl::convolution_forward::primitive_desc hint(forward_desc(src, w, groups, false, dst, stride, padding),
                                                       cpu_engine());
  const memory::dims strides = dims_of(stride), pad = dims_of(padding);
  const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, src,
                                                   any_layout(onednn_weight_dims(w, groups)), dst, strides, pad, pad);
  return dnnl::convolution_backward_data::primitive_desc(desc, user_scratchpad(), cpu_engine(), hint);
}

}  // namespace

namespace {

std::string rectifier_key(const OutputRectifier& rectifier) {
  if (rectifier.kind == OutputRectifier::Kind::None) return "";
  return ":post" + std::to_string(static_cast<int>(rectifier.kind)) + "," + std::to_string(rectifier.lo) + "," +
         std::to_string(rectifier.hi);
}

// Whether an implementation name (primitive_desc::impl_info_str) is one of oneDNN's brgemm kernels (brgconv,
// brgconv_1x1: AVX-512), not its older jit ones.
bool is_brgemm(const std::string& implementation) { return implementation.rfind("brg", 0) == 0; }

// Whether oneDNN runs this convolution with the sum post-op in the kernel aten::conv2d runs for it (same implementation
// name as without post-ops), and that kernel is a brgemm one (brgconv, brgconv_1x1): those sum each output's products
// over all input channels, add the bias, and only then apply post-ops, so the old destination value is added to the
// finished float as aten::add_ adds it, and the result is conv2d + add_ to the last bit. (oneDNN's older direct
// kernels, jit:avx512_common / jit:avx2 and their 1x1 variants, keep their name with a sum post-op but add the old value
// to the first input-channel block's partial sum, which rounds differently; there, and wherever oneDNN would switch
// implementation, the caller adds itself.) Decided once per shape and thread count: the choice depends on those and
// on the post-ops, not on values.
bool accumulation_keeps_kernel(const dnnl::convolution_forward::desc& desc, const OutputRectifier& rectifier,
                               const std::string& shape_key) {
  static std::mutex mutex;
  static std::unordered_map<std::string, bool> decided;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = decided.find(shape_key);
    if (it != decided.end()) return it->second;
  }
  const dnnl::convolution_forward::primitive_desc plain(desc, user_scratchpad(), cpu_engine());
  const dnnl::convolution_forward::primitive_desc summed(desc, attributes(rectifier, true), cpu_engine());
  const std::string kernel = plain.impl_info_str();
  const bool same = is_brgemm(kernel) && kernel == summed.impl_info_str();
  std::lock_guard<std::mutex> lock(mutex);
  if (decided.size() >= kMaxPrepared) decided.clear();
  decided.emplace(shape_key, same);
  return same;
}

}  // namespace

std::vector<int64_t> output_sizes(at::IntArrayRef x, int64_t out_channels, int64_t kh, int64_t kw,
                                  at::IntArrayRef stride, at::IntArrayRef padding) {
  return {x[0], out_channels, (x[2] + 2 * padding[0] - kh) / stride[0] + 1, (x[3] + 2 * padding[1] - kw) / stride[1] + 1};
}

bool cached_forward_sums_in_kernel(at::IntArrayRef x, at::IntArrayRef w_sizes, bool has_bias, at::IntArrayRef stride,
                                   at::IntArrayRef padding, int64_t groups, const OutputRectifier& rectifier) {
  if (!brgemm_forward_kernels()) return false;  // accumulation_keeps_kernel's answer for every shape, without asking
  std::ostringstream shape_key;
  shape_key << at::get_num_threads() << ':' << has_bias << x << w_sizes << stride << padding << 'g' << groups
            << rectifier_key(rectifier);
  const auto out_sizes = output_sizes(x, w_sizes[0], w_sizes[2], w_sizes[3], stride, padding);
  return accumulation_keeps_kernel(forward_desc(x, w_sizes, groups, has_bias, out_sizes, stride, padding), rectifier,
                                   shape_key.str());
}

at::Tensor cached_direct_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                 at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups, CachedWeight which,
                                 const OutputRectifier& rectifier, const at::Tensor& accumulator) {
  at::internal::lazy_init_num_threads();  // this thread's OpenMP team size = libtorch's thread count
  const bool rotated = which == CachedWeight::RotatedTransposed;
  TORCH_CHECK(!rotated || groups == 1, "cached_direct_forward: a rotated-transposed weight has one group");
  const std::vector<int64_t> w_sizes =
      rotated ? std::vector<int64_t>{w.size(1), w.size(0), w.size(2), w.size(3)} : w.sizes().vec();
  const auto out_sizes = output_sizes(x.sizes(), w_sizes[0], w_sizes[2], w_sizes[3], stride, padding);
  const auto desc = [&] { return forward_desc(x.sizes(), w_sizes, groups, bias.defined(), out_sizes, stride, padding); };
  const bool accumulate = accumulator.defined();
  if (accumulate) {
    // The kernel writes the sum over the accumulator in its own layout, reading x meanwhile.
    const bool fits = accumulator.layout() == at::kStrided && accumulator.device().is_cpu() &&
                      accumulator.scalar_type() == at::kFloat && accumulator.sizes() == at::IntArrayRef(out_sizes) &&
                      accumulator.is_contiguous(at::MemoryFormat::ChannelsLast) &&
                      !accumulator.storage().is_alias_of(x.storage());
    if (!fits || !cached_forward_sums_in_kernel(x.sizes(), w_sizes, bias.defined(), stride, padding, groups, rectifier))
      return at::Tensor();
  }
  const auto key = key_of('F', w, x.sizes(), stride, padding, groups, static_cast<int>(which), bias.defined()) +
                   rectifier_key(rectifier) + (accumulate ? ":sum" : "");
  const auto entry = prepared<dnnl::convolution_forward::primitive_desc>(
      key, w, static_cast<int>(which), groups, Family::ChannelsLast,
      [&] { return rotated ? rotated_transposed(w, at::MemoryFormat::Contiguous) : w; }, [&] {
        return dnnl::convolution_forward::primitive_desc(desc(), attributes(rectifier, accumulate), cpu_engine());
      });
  auto out = accumulate ? accumulator : at::empty(out_sizes, x.options(), at::MemoryFormat::ChannelsLast);
  memory src(channels_last(dims_of(x.sizes())), cpu_engine(), x.data_ptr());
  memory dst(channels_last(dims_of(out_sizes)), cpu_engine(), out.data_ptr());
  execute_forward(entry, src, dst, bias, w_sizes[0], x.options());
  if (accumulate) accumulator.unsafeGetTensorImpl()->bump_version();  // written in place, as add_ would have
  return out;
}

at::Tensor cached_direct_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                       at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups) {
  at::internal::lazy_init_num_threads();
  const auto g = grad.contiguous(at::MemoryFormat::ChannelsLast);
  const auto key = key_of('B', w, input_sizes, stride, padding, groups, 0, false);
  const auto entry = prepared<dnnl::convolution_backward_data::primitive_desc>(
      key, w, 0, groups, Family::ChannelsLast, [&] { return w; }, [&] {
        return backward_data_primitive(channels_last(dims_of(input_sizes)), w.sizes(), groups,
                                       channels_last(dims_of(g.sizes())), stride, padding);
      });
  auto out = at::empty(input_sizes, g.options(), at::MemoryFormat::ChannelsLast);
  memory diff_dst(channels_last(dims_of(g.sizes())), cpu_engine(), g.data_ptr());
  memory diff_src(channels_last(dims_of(input_sizes)), cpu_engine(), out.data_ptr());
  execute(entry, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, entry.weights}, {DNNL_ARG_DIFF_SRC, diff_src}},
          g.options());
  return out;
}

namespace {

// oneDNN's Winograd backward-data primitive of a 3x3, stride-1 convolution from `dst` (the output gradient) to `src`
// (the input gradient), with its forward primitive as the hint; descriptors of any layout let oneDNN pick (its Winograd
// kernels take nChw16c). Throws dnnl::error where it has none.
dnnl::convolution_backward_data::primitive_desc winograd_backward_data_primitive(const memory::desc& src,
                                                                                  at::IntArrayRef w,
                                                                                  const memory::desc& dst,
                                                                                  at::IntArrayRef padding) {
  const memory::dims strides{1, 1}, pad = dims_of(padding);
  const auto weights = any_layout(dims_of(w));
  const dnnl::convolution_forward::primitive_desc hint(
      {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd, src, weights, dst, strides, pad, pad},
      cpu_engine());
  const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_winograd, src, weights, dst, strides,
                                                   pad, pad);
  return dnnl::convolution_backward_data::primitive_desc(desc, user_scratchpad(), cpu_engine(), hint);
}

// Shapes whose Winograd primitive oneDNN refused (by shape_key_of: the refusal depends on shapes, not on the weight's
// values, and a freed weight's address may come back for another layer): asked once, not at every call.
bool winograd_refused(const std::string& key, bool remember = false) {
  static std::mutex mutex;
  static std::unordered_set<std::string> refused;
  std::lock_guard<std::mutex> lock(mutex);
  if (remember) {
    if (refused.size() >= kMaxPrepared) refused.clear();
    refused.insert(key);
  }
  return refused.count(key) != 0;
}

// The prepared Winograd backward-data convolution of `w` (3x3, stride 1) for `key`, or nothing where oneDNN refuses it.
std::optional<Prepared> prepared_winograd_backward_data(const std::string& key, const at::Tensor& w, Family family,
                                                         const memory::desc& src, const memory::desc& dst,
                                                         at::IntArrayRef padding) {
  std::ostringstream shape;
  const auto src_dims = src.dims(), dst_dims = dst.dims();
  shape << static_cast<int>(family) << at::IntArrayRef(src_dims) << w.sizes() << at::IntArrayRef(dst_dims) << padding;
  const auto shape_key = shape.str();
  if (winograd_refused(shape_key)) return std::nullopt;
  try {
    return prepared<dnnl::convolution_backward_data::primitive_desc>(
        key, w, 0, 1, family, [&] { return w; },
        [&] { return winograd_backward_data_primitive(src, w.sizes(), dst, padding); });
  } catch (const dnnl::error&) {
    winograd_refused(shape_key, true);
    return std::nullopt;
  }
}

// Runs a prepared primitive whose kernel reads and writes its own (blocked) layouts, entry.reads and entry.writes, on
// channels-last data: `in` is reordered into the layout read, `run(read, written)` executes the primitive, and what it
// wrote is reordered into a new channels-last tensor of `out_sizes`. The kernel-layout copies live only for this call;
// the input's goes before the result is allocated.
template <class Run>
at::Tensor run_in_kernel_layout(const Prepared& entry, const at::Tensor& in, at::IntArrayRef out_sizes, Run run) {
  const auto bytes = [&](const memory::desc& d) {
    return at::empty({static_cast<int64_t>(d.get_size() / sizeof(float))}, in.options());
  };
  at::Tensor out;
  {
    auto in_kernel_layout = bytes(entry.reads);
    memory read(entry.reads, cpu_engine(), in_kernel_layout.data_ptr());
    run_reorder(memory(channels_last(dims_of(in.sizes())), cpu_engine(), in.data_ptr()), read);
    auto result_storage = bytes(entry.writes);
    memory written(entry.writes, cpu_engine(), result_storage.data_ptr());
    run(read, written);
    in_kernel_layout.reset();
    out = at::empty(out_sizes, in.options(), at::MemoryFormat::ChannelsLast);
    run_reorder(written, memory(channels_last(dims_of(out_sizes)), cpu_engine(), out.data_ptr()));
  }
  return out;
}

// A prepared backward-data primitive run so (run_in_kernel_layout): the output gradient in, the input gradient of
// `input_sizes` out.
at::Tensor backward_data_in_kernel_layout(const Prepared& entry, const at::Tensor& grad, at::IntArrayRef input_sizes) {
  const auto g = grad.contiguous(at::MemoryFormat::ChannelsLast);
  return run_in_kernel_layout(entry, g, input_sizes, [&](const memory& diff_dst, const memory& diff_src) {
    execute(entry, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, entry.weights}, {DNNL_ARG_DIFF_SRC, diff_src}},
            g.options());
  });
}

}  // namespace

at::Tensor cached_winograd_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                         at::IntArrayRef padding) {
  at::internal::lazy_init_num_threads();
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 3 && w.size(3) == 3 && input_sizes.size() == 4 &&
                  input_sizes[1] == w.size(1),
              "cached_winograd_backward_data: needs a 3x3 weight of ", input_sizes.size() == 4 ? input_sizes[1] : -1,
              " input channels, got ", w.sizes());
  const std::vector<int64_t> stride{1, 1};
  const auto out_sizes = output_sizes(input_sizes, w.size(0), 3, 3, stride, padding);
  TORCH_CHECK(grad.sizes() == at::IntArrayRef(out_sizes), "cached_winograd_backward_data: the gradient has sizes ",
              grad.sizes(), ", the convolution's output is ", at::IntArrayRef(out_sizes));
  const auto entry = prepared_winograd_backward_data(key_of('W', w, input_sizes, stride, padding, 1, 0, false), w,
                                                     Family::ChannelsLast, any_layout(dims_of(input_sizes)),
                                                     any_layout(dims_of(out_sizes)), padding);
  if (!entry) return at::Tensor();
  return backward_data_in_kernel_layout(*entry, grad, input_sizes);
}

namespace {

// N x C x H x W blocked by `block` channels (nChw16c or nChw8c): the tensor is N x ceil(C/block) x H x W x block,
// channels past C zero.
memory::desc blocked_desc_of(int64_t block, int64_t n, int64_t c, int64_t h, int64_t w) {
  return memory::desc({n, c, h, w}, memory::data_type::f32, block == 16 ? tag::nChw16c : tag::nChw8c);
}

}  // namespace

int64_t blocked_layout_channels() {
  // oneDNN 2.6 has optimised kernels for nChw16c on AVX-512 and for nChw8c on AVX2 (its jit:avx2 kernels are written
  // for that layout: on AVX2 they run 3x3 layers up to 1.8x faster from nChw8c than from channels-last). Elsewhere it
  // would run its reference kernels (correct, many times slower). Probed once, widest block first, with the three
  // kinds of convolution a blocked run makes; no primitive is built or run.
  static const int64_t channels = [] {
    try {
      const auto user = user_scratchpad();
      const auto implemented = [&](const memory::desc& src, at::IntArrayRef w, int64_t groups, const memory::desc& dst,
                                   int64_t stride, int64_t pad) {
        const std::vector<int64_t> strides{stride, stride}, padding{pad, pad};
        const dnnl::convolution_forward::primitive_desc pd(
            forward_desc(src, w, groups, true, dst, strides, padding), user, cpu_engine());
        return std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
      };
      const auto image = memory::desc({2, 3, 16, 16}, memory::data_type::f32, tag::nchw);
      for (const int64_t block : {16, 8}) {
        const auto blocked = [&](int64_t c, int64_t hw) { return blocked_desc_of(block, 2, c, hw, hw); };
        if (implemented(image, {32, 3, 3, 3}, 1, blocked(32, 8), 2, 1) &&  // an image layer
            implemented(blocked(32, 8), {64, 32, 1, 1}, 1, blocked(64, 8), 1, 0) &&  // 1x1
            implemented(blocked(64, 8), {64, 1, 3, 3}, 64, blocked(64, 8), 1, 1))    // depthwise
          return block;
      }
    } catch (const dnnl::error&) {
    }
    return int64_t{0};
  }();
  return channels;
}

namespace {

int64_t blocks_of(int64_t channels) {
  const int64_t block = blocked_layout_channels();
  TORCH_CHECK(block > 0, "blocked activations: oneDNN has no optimised kernels for a blocked layout on this CPU "
              "(mt_blocked_channels is 0); run channels-last (MIPIN_BLOCKED_ACTIVATIONS=0)");
  return (channels + block - 1) / block;
}

// N x C x H x W in this CPU's blocked layout (blocked_layout_channels).
memory::desc blocked_desc(int64_t n, int64_t c, int64_t h, int64_t w) {
  return blocked_desc_of(blocked_layout_channels(), n, c, h, w);
}

// The logical N x C x H x W sizes of a blocked tensor holding `channels` channels.
std::vector<int64_t> blocked_sizes(const at::Tensor& xb, int64_t channels) {
  const int64_t block = blocked_layout_channels();
  TORCH_CHECK(xb.dim() == 5 && xb.size(4) == block && xb.size(1) == blocks_of(channels) && xb.is_contiguous() &&
                  xb.scalar_type() == at::kFloat && xb.device().is_cpu(),
              "a blocked activation of ", channels, " channels must be a contiguous float32 CPU tensor of N x ",
              blocks_of(channels), " x H x W x ", block, "; got ", xb.sizes());
  return {xb.size(0), channels, xb.size(2), xb.size(3)};
}

}  // namespace

bool brgemm_forward_kernels() {
  // oneDNN 2.6 runs channels-last convolutions with its brgemm kernels on AVX-512 and with its older jit kernels
  // elsewhere (AVX2: jit:avx2 both ways). Two choices of the frozen path depend on which: the transposed forward for
  // large 3x3 input gradients (frozen_conv2d.cpp) and sums inside the kernel (accumulation_keeps_kernel). Probed once
  // with ResNet-50's first 3x3 layer at batch 8 (no primitive is built or run).
  static const bool brgemm = [] {
    try {
      const dnnl::convolution_forward::primitive_desc pd(
          forward_desc({8, 64, 56, 56}, {64, 64, 3, 3}, 1, false, {8, 64, 56, 56}, {1, 1}, {1, 1}), user_scratchpad(),
          cpu_engine());
      return is_brgemm(pd.impl_info_str());
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return brgemm;
}

at::Tensor to_blocked(const at::Tensor& x) {
  at::internal::lazy_init_num_threads();
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() && x.layout() == at::kStrided,
              "to_blocked: needs a 4-D float32 CPU tensor, got ", x.sizes());
  const bool channels_last_input = !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
  const auto dense = channels_last_input ? x : x.contiguous();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto out = at::empty({n, blocks_of(c), h, w, blocked_layout_channels()}, x.options());
  memory from(memory::desc(dims_of(x.sizes()), memory::data_type::f32, channels_last_input ? tag::nhwc : tag::nchw),
              cpu_engine(), dense.data_ptr());
  run_reorder(from, memory(blocked_desc(n, c, h, w), cpu_engine(), out.data_ptr()));  // zero-fills the padding
  return out;
}

at::Tensor from_blocked(const at::Tensor& xb, int64_t channels) {
  at::internal::lazy_init_num_threads();
  const auto sizes = blocked_sizes(xb, channels);
  auto out = at::empty(sizes, xb.options(), at::MemoryFormat::ChannelsLast);
  run_reorder(memory(blocked_desc(sizes[0], sizes[1], sizes[2], sizes[3]), cpu_engine(), xb.data_ptr()),
              memory(channels_last(dims_of(sizes)), cpu_engine(), out.data_ptr()));
  return out;
}

at::Tensor cached_blocked_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                  at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups,
                                  const OutputRectifier& rectifier, const at::Tensor& accumulator) {
  at::internal::lazy_init_num_threads();
  const int64_t in_channels = w.size(1) * groups;
  // An image enters a blocked run as plain N x C x H x W data: oneDNN's blocked kernels take few-channel inputs so.
  const bool plain_input = x.dim() == 4;
  TORCH_CHECK(!plain_input || (x.is_contiguous() && x.size(1) == in_channels && x.scalar_type() == at::kFloat &&
                               x.device().is_cpu()),
              "cached_blocked_forward: a 4-D input must be contiguous float32 CPU data of ", in_channels,
              " channels, got ", x.sizes());
  const auto x_sizes = plain_input ? x.sizes().vec() : blocked_sizes(x, in_channels);
  const auto out_sizes = output_sizes(x_sizes, w.size(0), w.size(2), w.size(3), stride, padding);
  const memory::desc src_md = plain_input ? memory::desc(dims_of(x_sizes), memory::data_type::f32, tag::nchw)
                                          : blocked_desc(x_sizes[0], x_sizes[1], x_sizes[2], x_sizes[3]);
  const memory::desc dst_md = blocked_desc(out_sizes[0], out_sizes[1], out_sizes[2], out_sizes[3]);
  const std::vector<int64_t> out_shape{out_sizes[0], blocks_of(out_sizes[1]), out_sizes[2], out_sizes[3],
                                       blocked_layout_channels()};
  const bool accumulate = accumulator.defined();
  if (accumulate) {
    blocked_sizes(accumulator, out_sizes[1]);
    TORCH_CHECK(accumulator.sizes() == at::IntArrayRef(out_shape) && !accumulator.storage().is_alias_of(x.storage()),
                "cached_blocked_forward: the accumulator must be a blocked tensor of ", at::IntArrayRef(out_shape),
                " apart from the input, got ", accumulator.sizes());
  }
  const auto key = key_of(plain_input ? 'p' : 'b', w, x_sizes, stride, padding, groups, 0, bias.defined()) +
                   rectifier_key(rectifier) + (accumulate ? ":sum" : "");
  const auto entry = prepared<dnnl::convolution_forward::primitive_desc>(
      key, w, 0, groups, Family::Blocked, [&] { return w; }, [&] {
        return dnnl::convolution_forward::primitive_desc(
            forward_desc(src_md, w.sizes(), groups, bias.defined(), dst_md, stride, padding),
            attributes(rectifier, accumulate), cpu_engine());
      });
  auto out = accumulate ? accumulator : at::empty(out_shape, x.options());
  execute_forward(entry, memory(src_md, cpu_engine(), x.data_ptr()), memory(dst_md, cpu_engine(), out.data_ptr()),
                  bias, w.size(0), x.options());
  if (accumulate) accumulator.unsafeGetTensorImpl()->bump_version();
  return out;
}

at::Tensor cached_blocked_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                        at::IntArrayRef stride, at::IntArrayRef padding, int64_t groups) {
  at::internal::lazy_init_num_threads();
  TORCH_CHECK(input_sizes.size() == 4 && input_sizes[1] == w.size(1) * groups,
              "cached_blocked_backward_data: the weight takes ", w.size(1) * groups, " input channels, the input has sizes ",
              input_sizes);
  const auto out_sizes = output_sizes(input_sizes, w.size(0), w.size(2), w.size(3), stride, padding);
  const auto g = grad.contiguous();
  TORCH_CHECK(blocked_sizes(g, out_sizes[1]) == out_sizes, "cached_blocked_backward_data: the gradient has sizes ",
              g.sizes(), ", the convolution's output is ", at::IntArrayRef(out_sizes));
  const memory::desc src_md = blocked_desc(input_sizes[0], input_sizes[1], input_sizes[2], input_sizes[3]);
  const memory::desc dst_md = blocked_desc(out_sizes[0], out_sizes[1], out_sizes[2], out_sizes[3]);
  // 3x3 stride-1 layers take the Winograd kernel when input gradients do (winograd_input_gradients): in this layout
  // it needs no reorder.
  std::optional<Prepared> winograd;
  if (groups == 1 && w.size(2) == 3 && w.size(3) == 3 && stride[0] == 1 && stride[1] == 1 && winograd_input_gradients())
    winograd = prepared_winograd_backward_data(key_of('w', w, input_sizes, stride, padding, 1, 0, false), w,
                                               Family::Blocked, src_md, dst_md, padding);
  const auto entry = winograd ? *winograd : prepared<dnnl::convolution_backward_data::primitive_desc>(
      key_of('d', w, input_sizes, stride, padding, groups, 0, false), w, 0, groups, Family::Blocked, [&] { return w; },
      [&] { return backward_data_primitive(src_md, w.sizes(), groups, dst_md, stride, padding); });
  // oneDNN zero-fills the padding channels of a blocked output.
  auto out = at::empty(
      {input_sizes[0], blocks_of(input_sizes[1]), input_sizes[2], input_sizes[3], blocked_layout_channels()},
      g.options());
  execute(entry,
          {{DNNL_ARG_DIFF_DST, memory(dst_md, cpu_engine(), g.data_ptr())},
           {DNNL_ARG_WEIGHTS, entry.weights},
           {DNNL_ARG_DIFF_SRC, memory(src_md, cpu_engine(), out.data_ptr())}},
          g.options());
  return out;
}

at::Tensor cached_blocked_layout_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                                         at::IntArrayRef stride, at::IntArrayRef padding,
                                         const OutputRectifier& rectifier) {
  at::internal::lazy_init_num_threads();
  TORCH_CHECK(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(1),
              "cached_blocked_layout_forward: needs an ungrouped weight of ", x.dim() == 4 ? x.size(1) : -1,
              " input channels, got ", w.sizes());
  const auto xs = x.contiguous(at::MemoryFormat::ChannelsLast);
  const auto out_sizes = output_sizes(xs.sizes(), w.size(0), w.size(2), w.size(3), stride, padding);
  const memory::desc src_md = blocked_desc(xs.size(0), xs.size(1), xs.size(2), xs.size(3));
  const memory::desc dst_md = blocked_desc(out_sizes[0], out_sizes[1], out_sizes[2], out_sizes[3]);
  // The channels-last family: this kernel serves channels-last passes, as cached_blocked_layout_backward_data does,
  // so a layer's weight is not dropped and reordered again between its forward and backward-data kernels.
  const auto entry = prepared<dnnl::convolution_forward::primitive_desc>(
      key_of('l', w, xs.sizes(), stride, padding, 1, 0, bias.defined()) + rectifier_key(rectifier), w, 0, 1,
      Family::ChannelsLast, [&] { return w; }, [&] {
        return dnnl::convolution_forward::primitive_desc(
            forward_desc(src_md, w.sizes(), 1, bias.defined(), dst_md, stride, padding), attributes(rectifier),
            cpu_engine());
      });
  return run_in_kernel_layout(entry, xs, out_sizes, [&](const memory& src, const memory& dst) {
    execute_forward(entry, src, dst, bias, w.size(0), xs.options());
  });
}

at::Tensor cached_blocked_layout_backward_data(const at::Tensor& grad, const at::Tensor& w, at::IntArrayRef input_sizes,
                                               at::IntArrayRef stride, at::IntArrayRef padding) {
  at::internal::lazy_init_num_threads();
  TORCH_CHECK(w.dim() == 4 && input_sizes.size() == 4 && input_sizes[1] == w.size(1),
              "cached_blocked_layout_backward_data: needs an ungrouped weight of ",
              input_sizes.size() == 4 ? input_sizes[1] : -1, " input channels, got ", w.sizes());
  const auto out_sizes = output_sizes(input_sizes, w.size(0), w.size(2), w.size(3), stride, padding);
  TORCH_CHECK(grad.sizes() == at::IntArrayRef(out_sizes), "cached_blocked_layout_backward_data: the gradient has sizes ",
              grad.sizes(), ", the convolution's output is ", at::IntArrayRef(out_sizes));
  const auto entry = prepared<dnnl::convolution_backward_data::primitive_desc>(
      key_of('L', w, input_sizes, stride, padding, 1, 0, false), w, 0, 1, Family::ChannelsLast, [&] { return w; },
      [&] {
        return backward_data_primitive(blocked_desc(input_sizes[0], input_sizes[1], input_sizes[2], input_sizes[3]),
                                       w.sizes(), 1,
                                       blocked_desc(out_sizes[0], out_sizes[1], out_sizes[2], out_sizes[3]), stride,
                                       padding);
      });
  return backward_data_in_kernel_layout(entry, grad, input_sizes);
}

CacheContents cache_contents() {
  std::lock_guard<std::mutex> lock(g_mutex);
  CacheContents contents;
  for (const auto& [key, copies] : g_reordered)
    for (const auto& r : copies)
      (r.source.expired() ? contents.freed_weight_bytes : contents.live_weight_bytes) +=
          static_cast<int64_t>(r.layout.get_size());
  contents.primitives = static_cast<int64_t>(g_prepared.size());
  return contents;
}

}  // namespace mipin

#endif  // MIPIN_WITH_ONEDNN
