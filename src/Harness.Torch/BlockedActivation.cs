namespace Harness.Torch;

/// <summary>
/// An activation held in oneDNN's blocked layout between frozen convolutions (the shim's
/// <c>cached_blocked_forward</c>): <c>nChw16c</c> on AVX-512, <c>nChw8c</c> on AVX2 (<see cref="BlockChannels"/>). Why:
/// on AVX-512, oneDNN's kernels for this layout run MobileNetV2's 1×1 and depthwise convolutions 1.0–2.3× faster than
/// the channels-last kernels aten runs (a whole MobileNetV2 forward about 1.25×; ResNet-50's convolutions about 1.06×;
/// VGG's dense 3×3 ones equally fast in either layout), and their input gradients about 1.25× (MobileNetV2) and 1.07×
/// (ResNet-50). On AVX2, oneDNN's jit:avx2 kernels are written for <c>nChw8c</c>: at batch 32 on 2 cores, ResNet-50's
/// convolutions run forward about 1.2× faster in it (its 3×3 layers up to 1.7×), MobileNetV2's 1.14×. The values
/// differ from the channels-last pass by float rounding: other kernels add the input channels in another order. While
/// autograd records, every operation here records its backward (the shim's <c>blocked_activations.cpp</c>): a
/// gradient reaches the input through the blocked kernels; it cannot be differentiated again (<c>create_graph</c>
/// fails and names the switch).
/// <para>
/// <see cref="Data"/> is N × ⌈C/B⌉ × H × W × B (B = <see cref="BlockChannels"/>) with the channels past
/// <see cref="Channels"/> zero. Only this type and the shim read it: to aten it is a 5-D tensor, so an aten op
/// expecting an N × C × H × W activation fails on it, while elementwise ops and reductions would silently include the
/// padding. An image with fewer than B channels enters as its plain contiguous N × C × H × W tensor (the blocked
/// kernels read it so), which only a convolution may take. <see cref="ToChannelsLast"/> ends a blocked run.
/// </para>
/// </summary>
public sealed class BlockedActivation : IDisposable
{
    /// <summary>
    /// Which passes take blocked runs (<see cref="BlockedPasses"/>): <c>0</c> none (every pass runs channels-last,
    /// bit-identical to PyTorch's channels-last passes), <c>1</c> or unset those without autograd (the default),
    /// <c>all</c> also those autograd records (input gradients). Read once per process.
    /// </summary>
    public const string EnvironmentVariable = "MIPIN_BLOCKED_ACTIVATIONS";

    private static readonly Lazy<int> s_blockChannels = new(() =>
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_blocked_channels(out var channels));
        return channels;
    });

    private static readonly Lazy<BlockedPasses> s_setting = new(() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    private static readonly AsyncLocal<BlockedPasses?> s_override = new();

    /// <summary>
    /// Reads <see cref="EnvironmentVariable"/> now (the CLI calls this first), so a mistyped value stops a command at its
    /// start with the valid values, before any work; throws <see cref="InvalidOperationException"/> then. Needs no
    /// native library.
    /// </summary>
    public static void Configure() => _ = s_setting.Value;

    /// <summary>The passes <see cref="EnvironmentVariable"/>'s value names (null or empty: the default).</summary>
    public static BlockedPasses Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "1" => BlockedPasses.WithoutAutograd,
        "0" => BlockedPasses.None,
        "all" => BlockedPasses.All,
        _ => throw new InvalidOperationException(
            $"{EnvironmentVariable}={value} is not a setting: use 0 (no blocked runs), 1 (passes without autograd, the default) or all (also input-gradient passes)"),
    };

    /// <summary>
    /// Channels per block of the layout oneDNN has optimised kernels for on this CPU: 16 (<c>nChw16c</c>, AVX-512),
    /// 8 (<c>nChw8c</c>, AVX2), or 0 where it has neither or the shim was built without oneDNN's headers (then
    /// <see cref="Available"/> is false). An input with fewer channels (an image) is not reordered but read as plain
    /// data, and only a convolution may take it.
    /// </summary>
    public static int BlockChannels => s_blockChannels.Value;

    /// <summary>oneDNN's name of the layout, <c>nChw16c</c> or <c>nChw8c</c> (empty where not <see cref="Available"/>).</summary>
    public static string LayoutName => Available ? $"nChw{BlockChannels}c" : "";

    private BlockedActivation(Tensor data, long channels)
    {
        Data = data;
        Channels = channels;
    }

    /// <summary>The data: blocked (5-D), or a plain contiguous N × C × H × W image (4-D, see <see cref="IsBlocked"/>).</summary>
    public Tensor Data { get; }

    /// <summary>The number of channels, C.</summary>
    public long Channels { get; }

    /// <summary>False for an image entering a blocked run as plain data.</summary>
    public bool IsBlocked => Data.ndim == 5;

    /// <summary>
    /// Whether this shim has blocked activations (built with oneDNN's headers) and oneDNN has optimised kernels for a
    /// blocked layout on this CPU (AVX-512 or AVX2; elsewhere it would run its reference kernels, many times slower).
    /// </summary>
    public static bool Available => BlockChannels > 0;

    /// <summary>
    /// Which passes use blocked runs: none unless they are <see cref="Available"/> and forward passes run direct (not
    /// <see cref="ConvolutionKind.Winograd"/>, which runs channels-last); else what <see cref="Override"/> or <see cref="EnvironmentVariable"/> says.
    /// </summary>
    public static BlockedPasses Passes
    {
        get
        {
            var setting = s_setting.Value;  // read first, so a mistyped value fails on every machine, not just those that use it
            return ConvolutionAlgorithm.Current != ConvolutionKind.Winograd && Available ? s_override.Value ?? setting : BlockedPasses.None;
        }
    }

    /// <summary>Which CPU passes run residual blocks in the blocked layout, in words (<c>mipin info</c>, the bench's header).</summary>
    public static string DescribePasses() => Passes switch
    {
        BlockedPasses.WithoutAutograd => "passes without autograd",
        BlockedPasses.All => "all passes, input gradients too",
        _ => "no passes",
    };

    /// <summary>Whether passes without autograd use blocked runs (<see cref="Passes"/> is not <see cref="BlockedPasses.None"/>).</summary>
    public static bool Enabled => Passes != BlockedPasses.None;

    /// <summary>
    /// Sets <see cref="Passes"/> for the calling flow of execution (its thread and the tasks it starts) until the result
    /// is disposed, whatever <see cref="EnvironmentVariable"/> says: a pass that must be bit-identical to the
    /// channels-last one (tests of the channels-last fusions) turns them off.
    /// </summary>
    public static IDisposable Override(BlockedPasses passes)
    {
        var previous = s_override.Value;
        s_override.Value = passes;
        return new Restore(previous);
    }

    /// <summary><see cref="Override(BlockedPasses)"/> with passes without autograd (true) or none (false).</summary>
    public static IDisposable Override(bool enabled) => Override(enabled ? BlockedPasses.WithoutAutograd : BlockedPasses.None);

    private sealed class Restore(BlockedPasses? previous) : IDisposable
    {
        public void Dispose() => s_override.Value = previous;
    }

    /// <summary>
    /// <paramref name="x"/> (4-D float32 on the CPU) as a blocked activation: reordered into the blocked layout, or, with
    /// fewer than <see cref="BlockChannels"/> channels, as its contiguous copy (see the class remarks).
    /// <paramref name="x"/> is left as it was.
    /// </summary>
    public static BlockedActivation From(Tensor x)
    {
        if (x.ndim != 4) throw new ArgumentException($"a blocked activation is made from N×C×H×W data, got {x.ndim} dimensions", nameof(x));
        var channels = x.shape[1];
        if (channels < BlockChannels) return new BlockedActivation(x.contiguous(), channels);
        Native.NativeMethods.Check(Native.NativeMethods.mt_to_blocked(x.Handle, out var result));
        GC.KeepAlive(x);
        return new BlockedActivation(Tensor.FromHandle(result), channels);
    }

    /// <summary>This activation as a channels-last N × C × H × W tensor (a new one; this one is left as it was).</summary>
    public Tensor ToChannelsLast()
    {
        if (!IsBlocked) return Data.contiguous(MemoryFormat.ChannelsLast);
        Native.NativeMethods.Check(Native.NativeMethods.mt_from_blocked(Data.Handle, Channels, out var result));
        GC.KeepAlive(Data);
        return Tensor.FromHandle(result);
    }

    /// <summary>
    /// A frozen convolution (dilation 1) of this activation, then <paramref name="rectifier"/> inside its kernel; with
    /// <paramref name="accumulator"/>, the output is added to it before the rectifier. Without autograd the sum is
    /// written into the accumulator's memory and the accumulator is returned: the caller gives it up. While autograd
    /// records (this activation or the accumulator requires grad) the sum goes into a copy, returned as a new
    /// activation, and the accumulator is left as it was; the input must then be blocked, not a plain image.
    /// </summary>
    public BlockedActivation Conv2d(Tensor weight, Tensor? bias, long stride, long padding, long groups,
        OutputRectifier rectifier = OutputRectifier.None, BlockedActivation? accumulator = null)
    {
        if (weight.shape[1] * groups != Channels)
            throw new ArgumentException($"the weight takes {weight.shape[1] * groups} input channels, the activation has {Channels}", nameof(weight));
        if (accumulator is not null && (!accumulator.IsBlocked || accumulator.Channels != weight.shape[0]))
            throw new ArgumentException($"an accumulator must be a blocked activation of the output's {weight.shape[0]} channels", nameof(accumulator));
        var (kind, lo, hi) = rectifier switch
        {
            OutputRectifier.ReLU => (1, 0.0, 0.0),
            OutputRectifier.ReLU6 => (2, 0.0, 6.0),
            _ => (0, 0.0, 0.0),
        };
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_blocked(Data.Handle, weight.Handle, bias?.Handle ?? 0,
            stride, stride, padding, padding, groups, kind, lo, hi, accumulator?.Data.Handle ?? 0, out var result));
        GC.KeepAlive(Data);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        GC.KeepAlive(accumulator);
        var output = Tensor.FromHandle(result);
        if (accumulator is not null && output.IsSameAs(accumulator.Data))
        {
            output.Dispose(); // the accumulator's own tensor (the sum went into its memory), a second handle to it
            return accumulator;
        }
        return new BlockedActivation(output, weight.shape[0]);
    }

    /// <summary>Frees the data.</summary>
    public void Dispose() => Data.Dispose();
}

/// <summary>Which passes run spans of residual blocks in the blocked layout (<see cref="BlockedActivation.Passes"/>).</summary>
public enum BlockedPasses
{
    /// <summary>None: every pass runs channels-last, bit-identical to PyTorch's channels-last passes.</summary>
    None,

    /// <summary>
    /// Passes without autograd (forward values within float rounding of the channels-last ones; the default).
    /// </summary>
    WithoutAutograd,

    /// <summary>
    /// Also passes autograd records: input gradients come back through the blocked kernels, faster (MobileNetV2's
    /// gradient pass about 1.15×) but no longer bit-identical to PyTorch's: rounding moves a few pre-activations across
    /// a ReLU6/ReLU kink, which changes an input gradient at a few pixels (MobileNetV2: up to 0.6% of its maximum).
    /// </summary>
    All,
}

/// <summary>A rectifier applied inside a convolution's kernel on a blocked activation.</summary>
public enum OutputRectifier
{
    /// <summary>None: the convolution's output as is.</summary>
    None,

    /// <summary>max(x, 0).</summary>
    ReLU,

    /// <summary>min(max(x, 0), 6).</summary>
    ReLU6,
}
