using System.Diagnostics;
using System.Globalization;
using CsCheck;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.Fuzzing;

/// <summary>
/// Runs a property over generated cases, deterministically. CsCheck's own <c>Sample(seed: ...)</c> replays only its
/// first iteration from the seed and draws the rest from a fresh random source, so a run would test different inputs
/// each time; here iteration <c>i</c> draws its case from a PCG seeded with (<see cref="BaseSeed"/>, i), so every run
/// tests the same cases and a failure reproduces. The failure message gives the iteration, the case and its CsCheck
/// seed: <c>gen.Sample(property, seed: "...")</c> replays it (and shrinks it) under CsCheck.
/// </summary>
/// <remarks>
/// Environment variables: <c>MIPIN_FUZZ_ITERATIONS</c> multiplies every test's iteration count (e.g. 50 for a long
/// soak; default 1); <c>MIPIN_FUZZ_SEED</c> replaces the base seed to explore other cases.
/// </remarks>
public static class FuzzRunner
{
    /// <summary>The seed every fuzz test starts from unless MIPIN_FUZZ_SEED says otherwise.</summary>
    public const ulong DefaultSeed = 20240917;

    public static ulong BaseSeed { get; } =
        ulong.TryParse(Environment.GetEnvironmentVariable("MIPIN_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed : DefaultSeed;

    /// <summary>The multiplier from MIPIN_FUZZ_ITERATIONS (a positive number; default 1).</summary>
    public static double Multiplier { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("MIPIN_FUZZ_ITERATIONS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0
            ? m : 1;

    /// <summary>A test's iteration count scaled by <see cref="Multiplier"/> (at least 1).</summary>
    public static int Iterations(int count) => Math.Max(1, (int)Math.Min(int.MaxValue, Math.Round(count * Multiplier)));

    /// <summary>The PCG that iteration <paramref name="iteration"/> of the fuzz test on <paramref name="stream"/> draws from.</summary>
    public static PCG Source(uint stream, int iteration) => new(stream, BaseSeed * 0x9E37_79B9_7F4A_7C15UL + (ulong)iteration);

    /// <summary>
    /// Runs <paramref name="iterations"/> cases: a warm-up (at most <paramref name="warmUp"/>, at most half), then the
    /// rest between two <see cref="MemoryProbe"/>s, and asserts that memory did not grow over them (what = the reader).
    /// </summary>
    public static void RunWithoutGrowth<T>(string test, uint stream, Gen<T> gen, Action<T> property, int iterations, int warmUp,
        Func<T, string> describe, string what, ITestOutputHelper output)
    {
        warmUp = Math.Min(warmUp, iterations / 2);
        Run(test, stream, gen, property, 0, warmUp, describe);
        var before = MemoryProbe.Measure();
        Run(test, stream, gen, property, warmUp, iterations, describe);
        MemoryProbe.Measure().AssertNoGrowthSince(before, what, iterations - warmUp, output);
    }

    /// <summary>
    /// Runs <paramref name="property"/> on the cases of iterations [<paramref name="from"/>, <paramref name="to"/>).
    /// Any exception it lets out fails the test with the case; the property decides which exceptions are documented.
    /// </summary>
    /// <param name="stream">Distinguishes the tests, so each draws its own cases from the same base seed.</param>
    /// <param name="describe">Shows a case (and may save the mutated input) in the failure message.</param>
    public static void Run<T>(string test, uint stream, Gen<T> gen, Action<T> property, int from, int to, Func<T, string> describe)
    {
        for (var i = from; i < to; i++)
        {
            var pcg = Source(stream, i);
            var seed = pcg.ToString();
            var value = gen.Generate(pcg, null!, out _);
            try
            {
                property(value);
            }
            catch (Exception e)
            {
                throw new FuzzFailure(
                    $"{test}: iteration {i} (base seed {BaseSeed}) failed with {e.GetType().FullName}: {e.Message}\n" +
                    $"case: {describe(value)}\n" +
                    $"replay under CsCheck: gen.Sample(property, seed: \"{seed}\", iter: 1, threads: 1)", e);
            }
        }
    }

    /// <summary>Saves a failing input where a person can pick it up; returns the path for the failure message.</summary>
    public static string SaveFailingInput(string test, byte[] data, string extension)
    {
        var folder = Path.Combine(Path.GetTempPath(), "mipin-fuzz-failures");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{test}-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data))[..16]}{extension}");
        File.WriteAllBytes(path, data);
        return path;
    }
}

/// <summary>A fuzz case broke a property; the message holds the case and how to replay it.</summary>
public sealed class FuzzFailure(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Process memory around a fuzz run, measured the way <c>GrainRunner</c> measures a grain's baseline: managed garbage
/// collected (compacting the large-object heap too), then the C heap's free memory returned to the OS
/// (<see cref="HostMemory.ReleaseFreedMemory"/>, glibc malloc_trim), so what a reader freed does not count as growth
/// whatever the allocator keeps by policy (<see cref="HostMemory.KeepFreedMemory"/> may be on in this process).
/// </summary>
public sealed class MemoryProbe
{
    private const double MiB = 1024.0 * 1024.0;

    private MemoryProbe(double residentMiB, double managedMiB) => (ResidentMiB, ManagedMiB) = (residentMiB, managedMiB);

    public double ResidentMiB { get; }

    public double ManagedMiB { get; }

    /// <summary>Settles the heaps and reads resident and managed memory.</summary>
    public static MemoryProbe Measure()
    {
        for (var i = 0; i < 2; i++)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        HostMemory.ReleaseFreedMemory();
        return new MemoryProbe(ProcessMemory.ResidentBytes() / MiB, GC.GetTotalMemory(forceFullCollection: false) / MiB);
    }

    /// <summary>
    /// Asserts that neither resident nor managed memory grew by more than the bounds since <paramref name="before"/>,
    /// and writes both figures to <paramref name="output"/>.
    /// </summary>
    public void AssertNoGrowthSince(MemoryProbe before, string what, int iterations, ITestOutputHelper output,
        double residentBoundMiB = 64, double managedBoundMiB = 16)
    {
        var line = $"{what}: {iterations} iterations; resident {before.ResidentMiB:F1} -> {ResidentMiB:F1} MiB " +
                   $"({Signed(ResidentMiB - before.ResidentMiB)} MiB, bound {residentBoundMiB} MiB); managed {before.ManagedMiB:F1} -> " +
                   $"{ManagedMiB:F1} MiB ({Signed(ManagedMiB - before.ManagedMiB)} MiB, bound {managedBoundMiB} MiB)";
        output.WriteLine(line);
        Assert.True(ResidentMiB - before.ResidentMiB < residentBoundMiB, $"resident memory grew: {line}");
        Assert.True(ManagedMiB - before.ManagedMiB < managedBoundMiB, $"managed memory grew: {line}");
    }

    private static string Signed(double mib) => (mib >= 0 ? "+" : "") + mib.ToString("F1", CultureInfo.InvariantCulture);
}

/// <summary>Counts what a fuzz run's cases came to, for the test output and a check that the mutations bite.</summary>
public sealed class Outcomes
{
    private readonly Dictionary<string, int> _counts = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Add(string outcome) => _counts[outcome] = _counts.GetValueOrDefault(outcome) + 1;

    public int this[string outcome] => _counts.GetValueOrDefault(outcome);

    public override string ToString() =>
        string.Join(", ", _counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key}: {c.Value}")) + $" ({_clock.Elapsed.TotalSeconds:F1} s)";
}

/// <summary>
/// What one case may allocate: a reader must size its buffers by the data that is there, not by a length field that
/// claims more, so reading a small file allocates a bounded multiple of its size. (Managed allocations on the calling
/// thread; the checkpoint readers are managed code.)
/// </summary>
public static class AllocationBound
{
    public const long FixedBytes = 32L << 20;
    public const int PerInputByte = 64;

    public static void Check(long allocatedBefore, long inputLength)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var bound = FixedBytes + PerInputByte * inputLength;
        Assert.True(allocated <= bound,
            $"reading a {inputLength}-byte input allocated {allocated / (1024.0 * 1024.0):F1} MiB, more than the bound of {bound / (1024.0 * 1024.0):F1} MiB");
    }
}
