namespace Harness.Torch;

/// <summary>Which kernels run 3×3, stride-1 convolutions on CPU (<see cref="ConvolutionAlgorithm"/>).</summary>
public enum ConvolutionKind
{
    /// <summary>
    /// What PyTorch runs: oneDNN's direct convolution; values equal PyTorch's to the last digit. (Input gradients of
    /// frozen convolutions come from <see cref="FrozenConvolution"/> where it is faster: they differ from PyTorch's by
    /// float rounding, about 1e-7 of their largest value per layer.)
    /// </summary>
    Direct,

    /// <summary>
    /// The default: forward passes as <see cref="Direct"/> (values, and so every ReLU gate, equal PyTorch's), and the
    /// input gradients of frozen 3×3, stride-1, ungrouped convolutions on channels-last data through oneDNN's Winograd
    /// backward-data kernel: 1.1–2.6× faster per layer than the direct kernels (ResNet-50's and VGG's 3×3 layers at
    /// batch 8, 2 threads, reorders included). The gradient differs from the direct one by float rounding, about 1e-6 of
    /// its largest value per layer, carried linearly through the layers below (the gates are the forward pass's). Where
    /// oneDNN has no Winograd kernel (no AVX-512, a build without oneDNN's headers) the direct kernels run.
    /// </summary>
    WinogradGradients,

    /// <summary>
    /// oneDNN's Winograd F(4×4, 3×3) kernels for the forward pass and the input gradient of 3×3, stride-1, ungrouped
    /// convolutions on CPU: 2.2–3.1× faster per layer on AVX-512 cores. Rounding differs from direct convolution by
    /// about 1e-6 relative (the order of cuDNN's Winograd kernels on GPUs); weight gradients stay direct.
    /// </summary>
    Winograd,
}

/// <summary>
/// The process-wide convolution algorithm: <see cref="ConvolutionKind.WinogradGradients"/> unless
/// <see cref="EnvironmentVariable"/> says <c>direct</c> or <c>winograd</c> (or <c>mipin bench --convolution ...</c>). Only
/// CPU float32 convolutions with a 3×3 kernel, stride 1, dilation 1 and one group change; every other convolution, and
/// every convolution on a GPU, runs as before.
/// </summary>
public static class ConvolutionAlgorithm
{
    /// <summary>Selects the algorithm: <c>winograd-gradients</c> (default), <c>direct</c> or <c>winograd</c>.</summary>
    public const string EnvironmentVariable = "MIPIN_CONVOLUTION";

    // The shim starts with Winograd input gradients on, as this default says.
    private static volatile ConvolutionKind s_current = ConvolutionKind.WinogradGradients;

    /// <summary>The algorithm 3×3 stride-1 CPU convolutions use now.</summary>
    public static ConvolutionKind Current => s_current;

    /// <summary>
    /// Whether Winograd convolutions can run here: the native shim must have been built with oneDNN's headers (Debian:
    /// libdnnl-dev, which scripts/bootstrap.sh installs) against a libtorch linked to the shared libdnnl, and the CPU
    /// must have oneDNN's Winograd kernels (AVX-512 in oneDNN 2.6).
    /// </summary>
    public static bool WinogradAvailable
    {
        get
        {
            Native.NativeMethods.Check(Native.NativeMethods.mt_winograd_available(out var available));
            return available != 0;
        }
    }

    /// <summary>
    /// Sets the algorithm; throws InvalidOperationException with the fix when <see cref="ConvolutionKind.Winograd"/> is
    /// asked for and not available. (<see cref="ConvolutionKind.WinogradGradients"/> is taken where it can be: elsewhere
    /// input gradients run direct, as <see cref="Describe"/> says.)
    /// </summary>
    public static void Use(ConvolutionKind kind)
    {
        if (kind == ConvolutionKind.Winograd && !WinogradAvailable)
            throw new InvalidOperationException(
                "Winograd convolutions are not available: this native shim was built without oneDNN's headers (Debian: apt-get install libdnnl-dev) or against a libtorch not linked to the shared libdnnl (Debian's libtorch-dev is), or this CPU lacks oneDNN's Winograd kernels (AVX-512). Fix: run scripts/bootstrap.sh and rebuild, or use MIPIN_CONVOLUTION=direct or winograd-gradients.");
        Native.NativeMethods.Check(Native.NativeMethods.mt_set_winograd_input_gradients(kind == ConvolutionKind.WinogradGradients ? 1 : 0));
        s_current = kind;
    }

    /// <summary>The name <see cref="Parse"/> reads for <paramref name="kind"/>: <c>direct</c>, <c>winograd-gradients</c>, <c>winograd</c>.</summary>
    public static string NameOf(ConvolutionKind kind) => kind switch
    {
        ConvolutionKind.Direct => "direct",
        ConvolutionKind.WinogradGradients => "winograd-gradients",
        _ => "winograd",
    };

    /// <summary>The algorithm in use, in words (<c>mipin info</c>, the bench's header).</summary>
    public static string Describe() => s_current switch
    {
        ConvolutionKind.Direct => "direct 3×3 convolutions (PyTorch's kernels)",
        ConvolutionKind.WinogradGradients when WinogradAvailable => "winograd-gradients (direct forward passes, Winograd input gradients of 3×3 stride-1 layers)",
        ConvolutionKind.WinogradGradients => "winograd-gradients, not available here: input gradients run direct",
        _ => "winograd 3×3 convolutions (forward and input gradient)",
    };

    /// <summary>
    /// Runs <paramref name="body"/> under <paramref name="kind"/> and puts the previous algorithm back afterwards, also
    /// when it throws. The setting is process-wide, so this is for code that owns the process's convolutions while it
    /// runs (a peak measurement, a test).
    /// </summary>
    public static T With<T>(ConvolutionKind kind, Func<T> body)
    {
        var previous = s_current;
        Use(kind);
        try
        {
            return body();
        }
        finally
        {
            Use(previous);
        }
    }

    /// <summary>
    /// Parses <c>direct</c>, <c>winograd-gradients</c> or <c>winograd</c> (any case); throws ArgumentException naming
    /// <paramref name="source"/> otherwise.
    /// </summary>
    public static ConvolutionKind Parse(string value, string source)
    {
        var name = value.Trim().ToLowerInvariant();
        foreach (var kind in Enum.GetValues<ConvolutionKind>())
            if (NameOf(kind) == name) return kind;
        throw new ArgumentException($"{source} must be 'direct', 'winograd-gradients' or 'winograd', got '{value}'. Fix: use 'winograd-gradients' (the default: forward passes as PyTorch's, Winograd input gradients of 3×3 layers, rounding differs by about 1e-6), 'direct' (PyTorch's kernels everywhere) or 'winograd' (forward passes too).");
    }

    /// <summary>
    /// Applies <see cref="EnvironmentVariable"/> when set. Like <see cref="IntraOpThreads.Configure"/>, it leaves the
    /// default where the native library cannot be loaded, so commands that never touch libtorch still run.
    /// </summary>
    public static void Configure()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value)) return;
        var kind = Parse(value, EnvironmentVariable);
        try
        {
            Use(kind);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    /// <summary>Whether a convolution with these settings takes the Winograd path under the current algorithm.</summary>
    internal static bool Applies(Tensor weight, long[] stride, long[] padding, long[] dilation, long groups) =>
        s_current == ConvolutionKind.Winograd && groups == 1 && stride.Length == 2 && padding.Length == 2 &&
        dilation.Length == 2 &&
        stride[0] == 1 && stride[1] == 1 && dilation[0] == 1 && dilation[1] == 1 &&
        weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3;
}
