using System.Reflection;
using System.Runtime.InteropServices;

namespace Harness.Torch.Native;

/// <summary>P/Invoke declarations for the native shim (native/include/mipin_torch.h).</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "mipin_torch";

    static NativeMethods()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
    }

    /// <summary>Ensures the static constructor (and so the resolver) has run.</summary>
    internal static void EnsureLoaded() { }

    // Looks for libmipin_torch.so in MIPIN_NATIVE_LIB, next to this assembly, then on the normal path.
    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return 0;
        var explicitPath = Environment.GetEnvironmentVariable("MIPIN_NATIVE_LIB");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (!File.Exists(explicitPath))
                throw new DllNotFoundException($"MIPIN_NATIVE_LIB points to '{explicitPath}', which does not exist.");
            return NativeLibrary.Load(explicitPath);
        }
        var besideAssembly = Path.Combine(AppContext.BaseDirectory, "libmipin_torch.so");
        if (File.Exists(besideAssembly)) return NativeLibrary.Load(besideAssembly);
        if (NativeLibrary.TryLoad("libmipin_torch.so", assembly, searchPath, out var handle)) return handle;
        throw new DllNotFoundException(
            "libmipin_torch.so was not found next to the application. Build the solution with `dotnet build` " +
            "(it runs CMake on native/), or set MIPIN_NATIVE_LIB to the library's path. It needs libtorch " +
            "(Debian: apt-get install libtorch-dev).");
    }

    [LibraryImport(Library)] internal static partial nint mt_last_error();
    [LibraryImport(Library)] internal static partial int mt_version(byte* buffer, long capacity);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mt_op_lookup(string name, string overload, out nint op);
    [LibraryImport(Library)] internal static partial int mt_op_schema(nint op, byte* buffer, long capacity);
    [LibraryImport(Library)]
    internal static partial int mt_op_call(nint op, NativeValue* args, long nargs, NativeValue* results, long capacity,
        out long nresults);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mt_tensor_from_data(void* data, int dtype, long* shape, long ndim, string device,
        out nint tensor);
    [LibraryImport(Library)] internal static partial int mt_tensor_copy_to(nint t, void* dst, long nbytes);
    [LibraryImport(Library)] internal static partial void mt_tensor_free(nint t);
    [LibraryImport(Library)] internal static partial int mt_tensor_ndim(nint t, out long ndim);
    [LibraryImport(Library)] internal static partial int mt_tensor_shape(nint t, long* shape, long capacity);
    [LibraryImport(Library)] internal static partial int mt_tensor_dtype(nint t, out int dtype);
    [LibraryImport(Library)] internal static partial int mt_tensor_device(nint t, byte* buffer, long capacity);
    [LibraryImport(Library)] internal static partial int mt_tensor_same(nint a, nint b, out int same);

    [LibraryImport(Library)] internal static partial int mt_tensor_requires_grad(nint t, out int value);
    [LibraryImport(Library)] internal static partial int mt_tensor_set_requires_grad(nint t, int value);
    [LibraryImport(Library)] internal static partial int mt_tensor_grad(nint t, out nint grad);
    [LibraryImport(Library)] internal static partial int mt_tensor_set_grad(nint t, nint grad);
    [LibraryImport(Library)] internal static partial int mt_tensor_is_leaf(nint t, out int value);
    [LibraryImport(Library)] internal static partial int mt_tensor_is_contiguous(nint t, int memoryFormat, out int value);
    [LibraryImport(Library)] internal static partial int mt_tensor_version(nint t, out long value);
    [LibraryImport(Library)]
    internal static partial int mt_backward(nint* outputs, nint* gradOutputs, long n, int retainGraph, int createGraph);
    [LibraryImport(Library)]
    internal static partial int mt_autograd_grad(nint* outputs, nint* gradOutputs, long noutputs, nint* inputs,
        long ninputs, int retainGraph, int createGraph, int allowUnused, nint* results);
    [LibraryImport(Library)] internal static partial int mt_clip_(nint t, double lo, double hi);
    [LibraryImport(Library)] internal static partial int mt_relu_(nint t);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_winograd(nint input, nint weight, nint bias, long padH, long padW, out nint result);
    [LibraryImport(Library)] internal static partial int mt_winograd_available(out int available);
    [LibraryImport(Library)] internal static partial int mt_set_winograd_input_gradients(int on);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_frozen(nint input, nint weight, nint bias, long strideH, long strideW,
        long padH, long padW, out nint result);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_frozen_rectified(nint input, nint weight, nint bias, long strideH, long strideW,
        long padH, long padW, long groups, int relu, double lo, double hi, out nint result);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_frozen_rectified_passing_input(nint input, nint weight, nint bias, long strideH,
        long strideW, long padH, long padW, int relu, double lo, double hi, out nint result, out nint passedInput);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_frozen_accumulate(nint input, nint weight, nint bias, long strideH, long strideW,
        long padH, long padW, nint accumulator, int relu, out nint result);
    [LibraryImport(Library)] internal static partial int mt_blocked_channels(out int channels);
    [LibraryImport(Library)] internal static partial int mt_to_blocked(nint input, out nint result);
    [LibraryImport(Library)] internal static partial int mt_from_blocked(nint input, long channels, out nint result);
    [LibraryImport(Library)]
    internal static partial int mt_conv2d_blocked(nint input, nint weight, nint bias, long strideH, long strideW,
        long padH, long padW, long groups, int rectifier, double lo, double hi, nint accumulator, out nint result);
    [LibraryImport(Library)] internal static partial int mt_brgemm_kernels(out int brgemm);
    [LibraryImport(Library)] internal static partial int mt_blocked_layout_forwards(out long count);
    [LibraryImport(Library)]
    internal static partial int mt_frozen_cache_contents(out long liveWeightBytes, out long freedWeightBytes, out long primitives);
    [LibraryImport(Library)] internal static partial int mt_grad_enabled(out int enabled);
    [LibraryImport(Library)] internal static partial int mt_set_grad_enabled(int enabled);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mt_generator_new(ulong seed, string device, out nint generator);
    [LibraryImport(Library)] internal static partial void mt_generator_free(nint generator);
    [LibraryImport(Library)] internal static partial int mt_manual_seed(ulong seed);
    [LibraryImport(Library)] internal static partial int mt_set_num_threads(int n);
    [LibraryImport(Library)] internal static partial int mt_get_num_threads(out int n);
    [LibraryImport(Library)] internal static partial int mt_cuda_is_available(out int available);
    [LibraryImport(Library)] internal static partial int mt_cuda_device_count(out int count);
    [LibraryImport(Library)] internal static partial int mt_cuda_synchronize(int device);

    /// <summary>Throws <see cref="TorchException"/> with the native message when a call failed.</summary>
    internal static void Check(int status)
    {
        if (status != 0) throw new TorchException(Marshal.PtrToStringUTF8(mt_last_error()) ?? "unknown error", (TorchStatus)status);
    }

    /// <summary>Reads a string that a native call writes into a caller buffer.</summary>
    internal static string ReadString(Func<nint, long, int> call)
    {
        const int capacity = 4096;
        byte* buffer = stackalloc byte[capacity];
        Check(call((nint)buffer, capacity));
        return Marshal.PtrToStringUTF8((nint)buffer) ?? "";
    }
}

/// <summary>Mirror of the native mt_value: one boxed operator argument or result.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeValue
{
    public ValueKind Kind;
    public int Reserved;
    public long I;
    public double D;
    public nint P;
    public long N;
}

/// <summary>Mirror of the native MT_* kinds.</summary>
internal enum ValueKind
{
    None = 0,
    Tensor = 1,
    Int = 2,
    Double = 3,
    Bool = 4,
    IntList = 5,
    DoubleList = 6,
    TensorList = 7,
    String = 8,
    Device = 9,
    BoolList = 10,
    OptionalTensorList = 11,
    Generator = 12,
}
