using System.Diagnostics;
using System.Globalization;
using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// The fp32 limit the "distance from the limit" table measures model passes against, two ways: the
/// <see cref="Nominal"/> peak from /proc/cpuinfo (cores × clock × FLOPs per cycle of the vector units), and the
/// <see cref="MeasureConvolution"/> rate libtorch's best kernel (a large dense convolution) reaches on the same
/// threads, about what a model pass could at most hope for.
/// </summary>
public static class CpuPeak
{
    /// <summary>A peak in GFLOP/s and how it was obtained.</summary>
    public sealed record Peak(double GigaFlops, string How);

    /// <summary>
    /// threads × clock × fp32 FLOPs per cycle, or null where /proc/cpuinfo says too little. FLOPs per cycle assume
    /// two FMA pipes: AVX-512 is 2 × 16 lanes × 2 = 64 on Intel, 32 on AMD (Zen 4 runs 512-bit FMAs on 256-bit
    /// pipes); AVX2 with FMA 32; anything else 8 (SSE). The clock is the one cpuinfo reports (base, not turbo).
    /// </summary>
    public static Peak? Nominal(int threads)
    {
        try
        {
            var info = File.ReadAllLines("/proc/cpuinfo");
            string? Field(string name) => info.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } l ? l[(l.IndexOf(':') + 1)..].Trim() : null;
            if (!double.TryParse(Field("cpu MHz"), NumberStyles.Float, CultureInfo.InvariantCulture, out var mhz) || mhz <= 0) return null;
            var flags = (Field("flags") ?? "").Split(' ');
            var amd = Field("vendor_id") == "AuthenticAMD";
            var (perCycle, isa) = flags.Contains("avx512f") ? (amd ? 32 : 64, amd ? "AVX-512 on 256-bit pipes" : "AVX-512")
                : flags.Contains("avx2") && flags.Contains("fma") ? (32, "AVX2+FMA") : (8, "SSE");
            return new Peak(threads * mhz / 1000 * perCycle,
                FormattableString.Invariant($"{threads} cores × {mhz / 1000:0.###} GHz × {perCycle} FLOP/cycle ({isa}, 2 FMA pipes)"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The best of five runs of one dense 3×3 convolution (batch 8, 256 → 256 channels, 56×56: the shape of ResNet's
    /// middle stages), in GFLOP/s on the current libtorch threads, channels-last and, where oneDNN has kernels for it,
    /// in the blocked layout (<see cref="BlockedActivation"/>): the faster of the two. On AVX2 the blocked kernel is
    /// up to 1.8× the channels-last one at this shape, and MipIn's passes use it, so a channels-last peak alone would put
    /// them above 100% of it. A convolution, not a matrix product: Debian's libtorch multiplies matrices with the
    /// reference BLAS, while its convolutions run oneDNN's best kernels, which are what the model passes use. Always the
    /// direct algorithm, whatever <see cref="ConvolutionAlgorithm"/> says: the peak is that of multiply-accumulates
    /// actually done, which a Winograd pass's effective rate (direct FLOPs over its time) may exceed.
    /// </summary>
    public static Peak MeasureConvolution() => ConvolutionAlgorithm.With(ConvolutionKind.Direct, MeasureDirectConvolution);

    /// <summary>
    /// The higher of two measurements of the same peak, one taken before a run's first cell and one after its last,
    /// naming both. A shared VM's speed moves over a run of an hour (this one's convolution peak measured 164 and 231
    /// GFLOP/s in two runs); a peak taken once, in a slow stretch, would put passes above 100% of it. The spread of the
    /// two says how far the machine moved.
    /// </summary>
    public static Peak Best(Peak before, Peak after)
    {
        var best = before.GigaFlops >= after.GigaFlops ? before : after;
        return best with
        {
            How = FormattableString.Invariant(
                $"{best.How}; the higher of two measurements, before the first cell and after the last: {before.GigaFlops:0} and {after.GigaFlops:0} GFLOP/s"),
        };
    }

    private static Peak MeasureDirectConvolution()
    {
        const long batch = 8, channels = 256, size = 56;
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(0);
        var x = torch.randn(new[] { batch, channels, size, size }, generator: generator).contiguous(MemoryFormat.ChannelsLast);
        var w = torch.randn(new[] { channels, channels, 3L, 3L }, generator: generator).contiguous(MemoryFormat.ChannelsLast);
        using var noGrad = torch.no_grad();
        var flops = 2.0 * batch * channels * size * size * channels * 9;
        var channelsLast = flops / BestSeconds(() => torch.nn.functional.conv2d(x, w, padding: 1).Dispose()) / 1e9;
        var how = FormattableString.Invariant(
            $"oneDNN 3×3 convolution (direct), 8×256×56×56 → 256 channels, {torch.get_num_threads()} threads, best of 5");
        if (!BlockedActivation.Available)
            return new Peak(channelsLast, how + ", channels-last");
        using var xb = BlockedActivation.From(x);
        var blocked = flops / BestSeconds(() => xb.Conv2d(w, null, 1, 1, 1).Dispose()) / 1e9;
        return new Peak(Math.Max(channelsLast, blocked), how + FormattableString.Invariant(
            $", the faster layout of channels-last ({channelsLast:0} GFLOP/s) and blocked {BlockedActivation.LayoutName} ({blocked:0})"));
    }

    // The shortest of five timed calls after an untimed first one (which generates the kernel).
    private static double BestSeconds(Action run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            run();
            if (i > 0) best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
