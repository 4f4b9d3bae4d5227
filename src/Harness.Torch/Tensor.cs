using System.Runtime.InteropServices;
using Harness.Torch.Native;

namespace Harness.Torch;

/// <summary>
/// A handle to a libtorch tensor. Create tensors with the <see cref="torch"/> factories; free them with
/// <see cref="Dispose"/> or, better, a <see cref="DisposeScope"/> (<c>using var scope = torch.NewDisposeScope();</c>).
/// Names follow PyTorch/TorchSharp (<c>shape</c>, <c>dtype</c>, <c>reshape</c>, <c>sum</c>, ...).
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private nint _handle;

    private Tensor(nint handle)
    {
        _handle = handle;
        DisposeScope.Current?.Add(this);
    }

    /// <summary>Wraps a handle returned by the native shim; the tensor joins the current dispose scope.</summary>
    internal static Tensor FromHandle(nint handle) =>
        handle != 0 ? new Tensor(handle) : throw new TorchException("the operator returned an undefined tensor", TorchStatus.InvalidArgument);

    /// <summary>Like <see cref="FromHandle"/> but maps a null handle (undefined tensor) to null.</summary>
    internal static Tensor? FromOptionalHandle(nint handle) => handle != 0 ? new Tensor(handle) : null;

    ~Tensor() => Free();

    internal DisposeScope? OwningScope { get; set; }

    /// <summary>True once the native tensor has been released.</summary>
    public bool IsDisposed => _handle == 0;

    internal nint Handle => _handle != 0
        ? _handle
        : throw new ObjectDisposedException(nameof(Tensor), "This tensor was disposed (did its dispose scope end? use MoveToOuterDisposeScope to keep it).");

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        var h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) NativeMethods.mt_tensor_free(h);
    }

    /// <summary>Moves this tensor to the enclosing dispose scope (or out of all scopes) and returns it.</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = OwningScope?.Outer;
        OwningScope = null;
        outer?.Add(this);
        return this;
    }

    /// <summary>Removes this tensor from any dispose scope: the caller now owns it. Returns it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope = null;
        return this;
    }

    // ---- metadata ----

    /// <summary>Number of dimensions.</summary>
    public long ndim
    {
        get
        {
            NativeMethods.Check(NativeMethods.mt_tensor_ndim(Handle, out var n));
            GC.KeepAlive(this);
            return n;
        }
    }

    public long dim() => ndim;

    /// <summary>The sizes of every dimension.</summary>
    public unsafe long[] shape
    {
        get
        {
            var n = ndim;
            var shape = new long[n];
            fixed (long* p = shape) NativeMethods.Check(NativeMethods.mt_tensor_shape(Handle, p, n));
            GC.KeepAlive(this);
            return shape;
        }
    }

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long size(long dim)
    {
        var s = shape;
        var d = dim < 0 ? dim + s.Length : dim;
        if (d < 0 || d >= s.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} is out of range for a tensor with {s.Length} dimensions");
        return s[d];
    }

    /// <summary>Total number of elements.</summary>
    public long numel()
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return n;
    }

    public ScalarType dtype
    {
        get
        {
            NativeMethods.Check(NativeMethods.mt_tensor_dtype(Handle, out var t));
            GC.KeepAlive(this);
            return (ScalarType)t;
        }
    }

    public unsafe Device device
    {
        get
        {
            var h = Handle;
            var device = Device.Parse(NativeMethods.ReadString((buf, cap) => NativeMethods.mt_tensor_device(h, (byte*)buf, cap)));
            GC.KeepAlive(this);
            return device;
        }
    }

    /// <summary>True when both handles refer to the same tensor object.</summary>
    public bool IsSameAs(Tensor other)
    {
        NativeMethods.Check(NativeMethods.mt_tensor_same(Handle, other.Handle, out var same));
        GC.KeepAlive(this);
        GC.KeepAlive(other);
        return same != 0;
    }

    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        return $"Tensor[{string.Join(", ", shape)}], dtype={dtype}, device={device}";
    }

    // ---- data transfer ----

    /// <summary>Copies the elements (row-major) into a new array. <typeparamref name="T"/> must match <see cref="dtype"/>.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        var expected = torch.ScalarTypeOf<T>();
        var actual = dtype;
        if (expected != actual)
            throw new InvalidOperationException($"The tensor holds {actual}, not {expected}; convert with .to(ScalarType.{expected}) first.");
        var result = new T[numel()];
        fixed (T* p = result)
            NativeMethods.Check(NativeMethods.mt_tensor_copy_to(Handle, p, (long)result.Length * sizeof(T)));
        GC.KeepAlive(this); // the finalizer must not free the tensor while native code reads it
        return result;
    }

    /// <summary>Alias of <see cref="ToArray{T}"/> (TorchSharp's name).</summary>
    public T[] data<T>() where T : unmanaged => ToArray<T>();

    /// <summary>The value of a one-element tensor, converted to <typeparamref name="T"/>.</summary>
    public T item<T>() where T : unmanaged
    {
        var n = numel();
        if (n != 1) throw new InvalidOperationException($"item() needs a tensor with one element; this one has {n}.");
        var target = torch.ScalarTypeOf<T>();
        if (dtype == target) return ToArray<T>()[0];
        using var converted = to(target);
        return converted.ToArray<T>()[0];
    }

    /// <summary>Raw bytes of the elements in row-major order (any dtype).</summary>
    public unsafe byte[] ToBytes()
    {
        var result = new byte[numel() * dtype.ElementSize()];
        fixed (byte* p = result) NativeMethods.Check(NativeMethods.mt_tensor_copy_to(Handle, p, result.Length));
        GC.KeepAlive(this);
        return result;
    }

    internal static unsafe Tensor FromBytes(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape, Device? device)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"negative size in shape [{string.Join(", ", shape)}]", nameof(shape));
            n *= s;
        }
        if (n * dtype.ElementSize() != bytes.Length)
            throw new ArgumentException($"{bytes.Length} bytes do not fill a {dtype} tensor of shape [{string.Join(", ", shape)}] ({n} elements).");
        NativeMethods.EnsureLoaded();
        nint handle;
        fixed (byte* data = bytes)
        fixed (long* sizes = shape)
            NativeMethods.Check(NativeMethods.mt_tensor_from_data(data, (int)dtype, sizes, shape.Length,
                (device ?? Device.CPU).ToString(), out handle));
        return FromHandle(handle);
    }

    internal static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, Device? device) where T : unmanaged =>
        FromBytes(MemoryMarshal.AsBytes(data), torch.ScalarTypeOf<T>(), shape, device);
}
