using Harness.Torch.Native;

namespace Harness.Torch;

/// <summary>
/// Entry points in PyTorch's naming: tensor factories, joins, global state (seed, threads, devices), dispose
/// scopes and grad mode. Neural-network functions live in <see cref="nn.functional"/>.
/// </summary>
public static partial class torch
{
    private static readonly Op s_zeros = new("aten::zeros");
    private static readonly Op s_ones = new("aten::ones");
    private static readonly Op s_full = new("aten::full");
    private static readonly Op s_empty = new("aten::empty", "memory_format");
    private static readonly Op s_arange = new("aten::arange", "start_step");
    private static readonly Op s_linspace = new("aten::linspace");
    private static readonly Op s_rand = new("aten::rand", "generator");
    private static readonly Op s_randn = new("aten::randn", "generator");
    private static readonly Op s_randint = new("aten::randint", "low_generator");
    private static readonly Op s_randperm = new("aten::randperm", "generator");
    private static readonly Op s_eye = new("aten::eye");
    private static readonly Op s_zerosLike = new("aten::zeros_like");
    private static readonly Op s_emptyLike = new("aten::empty_like");
    private static readonly Op s_onesLike = new("aten::ones_like");
    private static readonly Op s_randnLike = new("aten::randn_like");
    private static readonly Op s_cat = new("aten::cat");
    private static readonly Op s_stack = new("aten::stack");
    private static readonly Op s_where = new("aten::where", "self");
    private static readonly Op s_maximum = new("aten::maximum");
    private static readonly Op s_minimum = new("aten::minimum");

    /// <summary>The libtorch version the native shim was built against, e.g. "1.13.1".</summary>
    public static unsafe string version
    {
        get
        {
            NativeMethods.EnsureLoaded();
            return NativeMethods.ReadString((buf, cap) => NativeMethods.mt_version((byte*)buf, cap));
        }
    }

    // ---- tensors from data ----

    /// <summary>A tensor holding a copy of <paramref name="data"/> (row-major) with the given shape.</summary>
    public static Tensor tensor<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null) where T : unmanaged =>
        Tensor.FromSpan(data, shape, device);

    /// <summary>A 1-D tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor<T>(T[] data, Device? device = null) where T : unmanaged =>
        Tensor.FromSpan<T>(data, new long[] { data.Length }, device);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape.</summary>
    public static Tensor tensor<T>(T[] data, long[] shape, Device? device = null) where T : unmanaged =>
        Tensor.FromSpan<T>(data, shape, device);

    /// <summary>A 0-d tensor.</summary>
    public static Tensor scalar_tensor<T>(T value, Device? device = null) where T : unmanaged =>
        Tensor.FromSpan<T>(new[] { value }, Array.Empty<long>(), device);

    /// <summary>A tensor of <paramref name="dtype"/> from raw little-endian bytes.</summary>
    public static Tensor frombuffer(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape, Device? device = null) =>
        Tensor.FromBytes(bytes, dtype, shape, device);

    /// <summary>The <see cref="ScalarType"/> matching a .NET element type.</summary>
    public static ScalarType ScalarTypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? ScalarType.Float32
        : typeof(T) == typeof(double) ? ScalarType.Float64
        : typeof(T) == typeof(long) ? ScalarType.Int64
        : typeof(T) == typeof(int) ? ScalarType.Int32
        : typeof(T) == typeof(short) ? ScalarType.Int16
        : typeof(T) == typeof(sbyte) ? ScalarType.Int8
        : typeof(T) == typeof(byte) ? ScalarType.Byte
        : typeof(T) == typeof(bool) ? ScalarType.Bool
        : typeof(T) == typeof(Half) ? ScalarType.Float16
        : throw new NotSupportedException($"{typeof(T).Name} has no tensor element type.");

    // ---- factories ----
    public static Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_zeros.Call(shape, dtype, Arg.None, Arg.Of(device));
    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_ones.Call(shape, dtype, Arg.None, Arg.Of(device));
    public static Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_full.Call(shape, value, dtype, Arg.None, Arg.Of(device));
    public static Tensor empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_empty.Call(shape, dtype, Arg.None, Arg.Of(device));
    public static Tensor zeros_like(Tensor t) => s_zerosLike.Call(t);

    /// <summary>An uninitialised tensor shaped, typed and laid out like <paramref name="t"/> (its strides when dense).</summary>
    public static Tensor empty_like(Tensor t) => s_emptyLike.Call(t);
    public static Tensor ones_like(Tensor t) => s_onesLike.Call(t);
    public static Tensor randn_like(Tensor t) => s_randnLike.Call(t);

    /// <summary>Values start, start+step, ... below end (int64 unless <paramref name="dtype"/> is given).</summary>
    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null) =>
        s_arange.Call(start, end, step, dtype, Arg.None, Arg.Of(device));
    public static Tensor arange(long end, ScalarType dtype = ScalarType.Int64, Device? device = null) =>
        arange(0, end, 1, dtype, device);
    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_linspace.Call(start, end, steps, dtype, Arg.None, Arg.Of(device));
    public static Tensor eye(long n, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_eye.Call(n, dtype, Arg.None, Arg.Of(device));

    // Random factories draw from `generator` when given, else from the global generator (seed with manual_seed).

    /// <summary>Uniform [0, 1) samples.</summary>
    public static Tensor rand(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, Generator? generator = null) =>
        s_rand.Call(shape, Arg.Of(generator), dtype, Arg.None, Arg.Of(device));
    /// <summary>Standard normal samples.</summary>
    public static Tensor randn(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, Generator? generator = null) =>
        s_randn.Call(shape, Arg.Of(generator), dtype, Arg.None, Arg.Of(device));
    /// <summary>Integers in [low, high).</summary>
    public static Tensor randint(long low, long high, long[] shape, Device? device = null, Generator? generator = null) =>
        s_randint.Call(low, high, shape, Arg.Of(generator), ScalarType.Int64, Arg.None, Arg.Of(device));
    /// <summary>A random permutation of 0..n-1.</summary>
    public static Tensor randperm(long n, Device? device = null, Generator? generator = null) =>
        s_randperm.Call(n, Arg.Of(generator), ScalarType.Int64, Arg.None, Arg.Of(device));

    // ---- joins and selection ----
    public static Tensor cat(Tensor[] tensors, long dim = 0) => s_cat.Call(tensors, dim);
    public static Tensor stack(Tensor[] tensors, long dim = 0) => s_stack.Call(tensors, dim);

    /// <summary>Elements of <paramref name="x"/> where <paramref name="condition"/> holds, else of <paramref name="y"/>.</summary>
    public static Tensor where(Tensor condition, Tensor x, Tensor y) => s_where.Call(condition, x, y);
    public static Tensor maximum(Tensor a, Tensor b) => s_maximum.Call(a, b);
    public static Tensor minimum(Tensor a, Tensor b) => s_minimum.Call(a, b);
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    // ---- global state ----

    /// <summary>Seeds every generator (CPU and CUDA) so random tensors and dropout repeat exactly.</summary>
    public static void manual_seed(ulong seed)
    {
        NativeMethods.EnsureLoaded();
        NativeMethods.Check(NativeMethods.mt_manual_seed(seed));
    }

    /// <summary>Sets the number of intra-op threads libtorch uses.</summary>
    public static void set_num_threads(int threads)
    {
        NativeMethods.EnsureLoaded();
        NativeMethods.Check(NativeMethods.mt_set_num_threads(threads));
    }

    public static int get_num_threads()
    {
        NativeMethods.EnsureLoaded();
        NativeMethods.Check(NativeMethods.mt_get_num_threads(out var n));
        return n;
    }

    /// <summary>Opens a scope that disposes the tensors created inside it (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Disables autograd recording on this thread until the returned object is disposed.</summary>
    public static IDisposable no_grad() => new GradModeScope(false);

    /// <summary>Enables autograd recording on this thread until the returned object is disposed.</summary>
    public static IDisposable enable_grad() => new GradModeScope(true);

    /// <summary>Whether autograd records operations on this thread.</summary>
    public static bool is_grad_enabled()
    {
        NativeMethods.EnsureLoaded();
        NativeMethods.Check(NativeMethods.mt_grad_enabled(out var e));
        return e != 0;
    }

    private sealed class GradModeScope : IDisposable
    {
        private readonly bool _previous;
        private bool _disposed;

        public GradModeScope(bool enabled)
        {
            _previous = is_grad_enabled();
            NativeMethods.Check(NativeMethods.mt_set_grad_enabled(enabled ? 1 : 0));
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            NativeMethods.Check(NativeMethods.mt_set_grad_enabled(_previous ? 1 : 0));
        }
    }

    /// <summary>CUDA queries; all answer "no GPU" on a CPU-only libtorch.</summary>
    public static class cuda
    {
        public static bool is_available()
        {
            NativeMethods.EnsureLoaded();
            NativeMethods.Check(NativeMethods.mt_cuda_is_available(out var a));
            return a != 0;
        }

        public static int device_count()
        {
            NativeMethods.EnsureLoaded();
            NativeMethods.Check(NativeMethods.mt_cuda_device_count(out var n));
            return n;
        }

        /// <summary>Waits for all work queued on a GPU (needed for honest timings).</summary>
        public static void synchronize(int device = 0)
        {
            NativeMethods.EnsureLoaded();
            NativeMethods.Check(NativeMethods.mt_cuda_synchronize(device));
        }
    }
}
