namespace Harness.Torch;

// Views, reshaping, indexing, dtype/device conversion and copies.
public sealed partial class Tensor
{
    private static readonly Op s_reshape = new("aten::reshape");
    private static readonly Op s_view = new("aten::view");
    private static readonly Op s_permute = new("aten::permute");
    private static readonly Op s_transpose = new("aten::transpose", "int");
    private static readonly Op s_narrow = new("aten::narrow");
    private static readonly Op s_slice = new("aten::slice", "Tensor");
    private static readonly Op s_select = new("aten::select", "int");
    private static readonly Op s_indexSelect = new("aten::index_select");
    private static readonly Op s_index = new("aten::index", "Tensor");
    private static readonly Op s_indexPut = new("aten::index_put_");
    private static readonly Op s_gather = new("aten::gather");
    private static readonly Op s_squeeze = new("aten::squeeze");
    private static readonly Op s_squeezeDim = new("aten::squeeze", "dim");
    private static readonly Op s_unsqueeze = new("aten::unsqueeze");
    private static readonly Op s_flatten = new("aten::flatten", "using_ints");
    private static readonly Op s_expand = new("aten::expand");
    private static readonly Op s_contiguous = new("aten::contiguous");
    private static readonly Op s_clone = new("aten::clone");
    private static readonly Op s_detach = new("aten::detach");
    private static readonly Op s_toDtype = new("aten::to", "dtype");
    private static readonly Op s_toDevice = new("aten::to", "device");
    private static readonly Op s_asStrided = new("aten::as_strided");
    private static readonly Op s_maskedFill = new("aten::masked_fill", "Scalar");
    private static readonly Op s_chunk = new("aten::chunk");
    private static readonly Op s_unbind = new("aten::unbind", "int");
    private static readonly Op s_flip = new("aten::flip");
    private static readonly Op s_alias = new("aten::alias");
    private static readonly Op s_pinMemory = new("aten::pin_memory");
    private static readonly Op s_isPinned = new("aten::is_pinned");

    public Tensor reshape(params long[] shape) => s_reshape.Call(this, shape);
    public Tensor view(params long[] shape) => s_view.Call(this, shape);
    public Tensor permute(params long[] dims) => s_permute.Call(this, dims);
    public Tensor transpose(long dim0, long dim1) => s_transpose.Call(this, dim0, dim1);

    /// <summary>The matrix transpose of a 2-D tensor.</summary>
    public Tensor t() => ndim == 2 ? s_transpose.Call(this, 0L, 1L) : throw new InvalidOperationException($"t() needs a 2-D tensor, this one has {ndim} dimensions.");

    public Tensor narrow(long dim, long start, long length) => s_narrow.Call(this, dim, start, length);

    /// <summary>Elements start, start+step, ... before end along <paramref name="dim"/> (null = open end).</summary>
    public Tensor slice(long dim, long? start, long? end, long step = 1) =>
        s_slice.Call(this, dim, Arg.Optional(start), Arg.Optional(end), step);

    public Tensor select(long dim, long index) => s_select.Call(this, dim, index);
    public Tensor index_select(long dim, Tensor index) => s_indexSelect.Call(this, dim, index);
    public Tensor gather(long dim, Tensor index) => s_gather.Call(this, dim, index);
    public Tensor squeeze() => s_squeeze.Call(this);
    public Tensor squeeze(long dim) => s_squeezeDim.Call(this, dim);
    public Tensor unsqueeze(long dim) => s_unsqueeze.Call(this, dim);
    public Tensor flatten(long start_dim = 0, long end_dim = -1) => s_flatten.Call(this, start_dim, end_dim);
    public Tensor expand(params long[] shape) => s_expand.Call(this, shape);
    public Tensor flip(params long[] dims) => s_flip.Call(this, dims);
    public Tensor contiguous() => s_contiguous.Call(this);

    /// <summary>This tensor laid out as <paramref name="memory_format"/> (itself, as a new handle, when it already is).</summary>
    public Tensor contiguous(MemoryFormat memory_format) => s_contiguous.Call(this, (long)memory_format);

    /// <summary>Whether the elements are laid out densely in <paramref name="memory_format"/>.</summary>
    public bool is_contiguous(MemoryFormat memory_format = MemoryFormat.Contiguous)
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_tensor_is_contiguous(Handle, (int)memory_format, out var value));
        GC.KeepAlive(this);
        return value != 0;
    }

    /// <summary>The version counter autograd uses: every in-place change (copy_, add_, ...) increments it.</summary>
    public long _version()
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_tensor_version(Handle, out var value));
        GC.KeepAlive(this);
        return value;
    }

    /// <summary>A second handle to the same tensor (same data, same autograd node); dispose it independently.</summary>
    public Tensor alias() => s_alias.Call(this);
    public Tensor clone() => s_clone.Call(this);

    /// <summary>A view with the given sizes and strides (in elements) into this tensor's storage.</summary>
    public Tensor as_strided(long[] size, long[] stride, long storage_offset = 0) =>
        s_asStrided.Call(this, size, stride, storage_offset);

    public Tensor masked_fill(Tensor mask, double value) => s_maskedFill.Call(this, mask, value);
    public Tensor[] chunk(long chunks, long dim = 0) => s_chunk.CallList((int)chunks, this, chunks, dim);
    public Tensor[] unbind(long dim = 0) => s_unbind.CallList((int)size(dim), this, dim);

    /// <summary>A tensor sharing data but cut from the autograd graph.</summary>
    public Tensor detach() => s_detach.Call(this);

    public Tensor to(ScalarType type, bool copy = false) => s_toDtype.Call(this, type, false, copy);
    public Tensor to(Device device, bool copy = false) => s_toDevice.Call(this, Arg.Of(device), dtype, false, copy);
    public Tensor to(Device device, ScalarType type) => s_toDevice.Call(this, Arg.Of(device), type, false, false);
    /// <summary>
    /// A copy on <paramref name="device"/>; with <paramref name="non_blocking"/> a host→GPU copy from pinned memory is
    /// queued on the current stream and returns at once (synchronize before timing or reading the result on the host).
    /// </summary>
    public Tensor to(Device device, bool non_blocking, bool copy) => s_toDevice.Call(this, Arg.Of(device), dtype, non_blocking, copy);

    /// <summary>
    /// A copy of this CPU tensor in page-locked (pinned) host memory, so host→GPU copies can be asynchronous and run
    /// at full bus speed. Needs a CUDA-enabled libtorch; a CPU-only build throws.
    /// </summary>
    public Tensor pin_memory() => s_pinMemory.Call(this);

    /// <summary>Whether this tensor lives in pinned host memory (always false on a CPU-only libtorch).</summary>
    public bool is_pinned() => s_isPinned.CallScalar(this) != 0;

    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = -1) => to(Device.CUDA(index));

    /// <summary>
    /// NumPy/PyTorch-style indexing: <c>t[0]</c>, <c>t[.., 1..3]</c>, <c>t[TensorIndex.Ellipsis, TensorIndex.None]</c>,
    /// <c>t[mask]</c>, <c>t[indices]</c>. Basic indices give views; tensor indices gather (a copy).
    /// Assigning copies (with broadcasting) into the selected elements.
    /// </summary>
    public Tensor this[params TensorIndex[] indices]
    {
        get => Index(indices);
        set => IndexAssign(indices, value);
    }

    private Tensor Index(TensorIndex[] indices)
    {
        var (view, advanced) = ApplyBasicIndices(indices);
        if (advanced is null) return view;
        try
        {
            return s_index.Call(view, Arg.OptionalTensors(advanced));
        }
        finally
        {
            view.Dispose();
        }
    }

    private void IndexAssign(TensorIndex[] indices, Tensor value)
    {
        var (view, advanced) = ApplyBasicIndices(indices);
        try
        {
            if (advanced is null) view.copy_(value);
            else s_indexPut.CallInPlace(view, Arg.OptionalTensors(advanced), value, false);
        }
        finally
        {
            view.Dispose();
        }
    }

    // Applies integer, slice, None and ellipsis indices as views (like PyTorch's applySlicing) and returns the
    // tensor indices, placed at the dimensions they index in the view, for one aten::index call.
    private (Tensor view, Tensor?[]? advanced) ApplyBasicIndices(TensorIndex[] indices)
    {
        var rank = ndim;
        var consuming = 0;
        var ellipses = 0;
        foreach (var ix in indices)
        {
            if (ix.Kind == TensorIndexKind.Ellipsis) ellipses++;
            else if (ix.Kind != TensorIndexKind.None) consuming += ix.Kind == TensorIndexKind.Tensor && ix.Tensor!.dtype == ScalarType.Bool ? (int)ix.Tensor.ndim : 1;
        }
        if (ellipses > 1) throw new ArgumentException("an index can only have a single ellipsis");
        if (consuming > rank) throw new ArgumentException($"too many indices for a tensor of dimension {rank}");

        var current = alias();
        long dim = 0;
        var advanced = new List<(long dim, Tensor t)>();
        foreach (var ix in indices)
        {
            Tensor next;
            switch (ix.Kind)
            {
                case TensorIndexKind.Single:
                    next = current.select(dim, ix.Start!.Value);
                    break;
                case TensorIndexKind.Slice:
                    next = current.slice(dim, ix.Start, ix.Stop, ix.Step);
                    dim++;
                    break;
                case TensorIndexKind.None:
                    next = current.unsqueeze(dim);
                    dim++;
                    break;
                case TensorIndexKind.Ellipsis:
                    dim += rank - consuming;
                    continue;
                default:
                    advanced.Add((dim, ix.Tensor!));
                    dim += ix.Tensor!.dtype == ScalarType.Bool ? ix.Tensor.ndim : 1;
                    continue;
            }
            current.Dispose();
            current = next;
        }
        if (advanced.Count == 0) return (current, null);
        var list = new Tensor?[advanced[^1].dim + 1];
        foreach (var (d, t) in advanced) list[d] = t;
        return (current, list);
    }
}
