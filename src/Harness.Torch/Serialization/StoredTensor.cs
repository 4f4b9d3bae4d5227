namespace Harness.Torch.Serialization;

/// <summary>
/// One storage as it sits in a checkpoint: the raw little-endian bytes of the whole buffer. Tensors
/// that were views of the same buffer when saved refer to the same instance, so a loader can keep
/// them sharing memory.
/// </summary>
public sealed record StoredStorage(string Key, ScalarType DType, ReadOnlyMemory<byte> Bytes)
{
    /// <summary>Number of whole elements in the storage.</summary>
    public long ElementCount => Bytes.Length / DType.ElementSize();
}

/// <summary>
/// A tensor as a checkpoint describes it: a strided view into a <see cref="StoredStorage"/>.
/// Offset and strides are in elements, exactly the arguments of torch's <c>_rebuild_tensor_v2</c>.
/// </summary>
public sealed record StoredTensor(ScalarType DType, long[] Shape, long[] Strides, long StorageOffset, StoredStorage Storage)
{
    /// <summary>A dense row-major tensor owning its own storage (used for safetensors and for tests).</summary>
    public static StoredTensor Contiguous(ScalarType dtype, long[] shape, ReadOnlyMemory<byte> bytes, string key = "")
    {
        var tensor = new StoredTensor(dtype, shape, RowMajorStrides(shape), 0, new StoredStorage(key, dtype, bytes));
        long needed = checked(tensor.ElementCount * dtype.ElementSize());
        if (needed != bytes.Length)
        {
            throw new ArgumentException(
                $"a {dtype} tensor of shape [{string.Join(", ", shape)}] needs {needed} bytes, got {bytes.Length}", nameof(bytes));
        }
        return tensor;
    }

    /// <summary>Strides of a dense row-major tensor of this shape (torch's contiguous layout).</summary>
    public static long[] RowMajorStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride = checked(stride * Math.Max(shape[d], 1));
        }
        return strides;
    }

    /// <summary>Number of elements (1 for a 0-d tensor).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long s in Shape) n = checked(n * s);
            return n;
        }
    }

    /// <summary>
    /// True when the view is dense row-major, using torch's rule: dimensions of size 1 may have any
    /// stride, and an empty tensor is always contiguous.
    /// </summary>
    public bool IsContiguous
    {
        get
        {
            if (Shape.Length != Strides.Length) return false;
            if (Shape.Any(s => s == 0)) return true;
            long expected = 1;
            for (int d = Shape.Length - 1; d >= 0; d--)
            {
                if (Shape[d] == 1) continue;
                if (Strides[d] != expected) return false;
                expected *= Shape[d];
            }
            return true;
        }
    }

    /// <summary>
    /// Why this view does not fit its storage, or null when it does. Checkpoints are untrusted input,
    /// so every element the view can address must lie inside the storage before anything reads it.
    /// </summary>
    public string? DescribeLayoutProblem()
    {
        if (DType != Storage.DType) return $"tensor dtype {DType} differs from its storage's dtype {Storage.DType}";
        if (Shape.Length != Strides.Length)
            return $"shape has {Shape.Length} dimensions but strides have {Strides.Length}";
        if (StorageOffset < 0) return $"negative storage offset {StorageOffset}";
        if (Shape.Any(s => s < 0)) return $"negative size in shape [{string.Join(", ", Shape)}]";
        if (Strides.Any(s => s < 0)) return $"negative stride in strides [{string.Join(", ", Strides)}]";
        try
        {
            if (ElementCount == 0) return null;
            long last = StorageOffset; // index of the farthest element the view can reach
            for (int d = 0; d < Shape.Length; d++) last = checked(last + (Shape[d] - 1) * Strides[d]);
            if (last >= Storage.ElementCount)
            {
                return $"view (shape [{string.Join(", ", Shape)}], strides [{string.Join(", ", Strides)}], offset {StorageOffset}) " +
                       $"reaches element {last} but the storage holds only {Storage.ElementCount} elements";
            }
            checked { _ = ElementCount * DType.ElementSize(); }
            return null;
        }
        catch (OverflowException)
        {
            return $"shape [{string.Join(", ", Shape)}] with strides [{string.Join(", ", Strides)}] overflows 64-bit indexing";
        }
    }

    /// <summary>
    /// The viewed elements as a dense row-major byte array (a copy), whatever the strides and offset.
    /// </summary>
    public byte[] ToContiguousBytes()
    {
        string? problem = DescribeLayoutProblem();
        if (problem is not null) throw new InvalidOperationException(problem);

        int elementSize = DType.ElementSize();
        long count = ElementCount;
        var result = new byte[checked(count * elementSize)];
        if (count == 0) return result;
        ReadOnlySpan<byte> source = Storage.Bytes.Span;

        if (IsContiguous)
        {
            source.Slice(checked((int)(StorageOffset * elementSize)), result.Length).CopyTo(result);
            return result;
        }

        // Odometer walk over the logical indices in row-major order; the innermost dimension moves fastest.
        int rank = Shape.Length;
        var index = new long[rank];
        long position = StorageOffset;
        for (long i = 0; i < count; i++)
        {
            source.Slice((int)(position * elementSize), elementSize).CopyTo(result.AsSpan((int)(i * elementSize), elementSize));
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < Shape[d])
                {
                    position += Strides[d];
                    break;
                }
                position -= (Shape[d] - 1) * Strides[d];
                index[d] = 0;
            }
        }
        return result;
    }
}
