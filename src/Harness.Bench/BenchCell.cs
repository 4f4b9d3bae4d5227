using Harness.Torch;

namespace Harness.Bench;

/// <summary>One cell of the benchmark table: a workload on a model at a batch size on a device.</summary>
public sealed record BenchCell(string Model, string Method, int BatchSize, Device Device)
{
    public override string ToString() => $"{Model} {Method} batch {BatchSize} {Device}";
}

/// <summary>How each cell is measured (the same settings go to the PyTorch baseline).</summary>
public sealed record BenchSettings
{
    /// <summary>Untimed iterations before measuring (allocator and kernel caches warm up).</summary>
    public int Warmup { get; init; } = 2;

    /// <summary>Timed iterations; images/s comes from the median iteration time.</summary>
    public int Iterations { get; init; } = 3;

    /// <summary>Stop timing a cell after this many seconds of timed iterations (at least one iteration runs).</summary>
    public double MaxSeconds { get; init; } = 30;

    /// <summary>Intra-op threads for libtorch, on both sides.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Seed of the random weights and the random input batch.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Before each side of each cell, wait up to this many seconds for the cores the cell's threads need to be idle
    /// (<see cref="BenchSuite.IdleThreshold"/>; 0: never wait). For shared machines, where someone else's build would
    /// otherwise land in one side's timing.
    /// </summary>
    public double WaitIdleSeconds { get; init; }

    /// <summary>
    /// Layout our models run in (null: <see cref="Models.ModelZoo.DefaultMemoryFormat"/>, channels-last on the CPU). The
    /// tuned PyTorch baseline runs channels-last, the untuned one torchvision's default contiguous layout.
    /// </summary>
    public MemoryFormat? MemoryFormat { get; init; }

    /// <summary>Input height and width.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>
    /// How many times each cell's headline pair is measured, alternating: ours, the tuned baseline, ours, ... Each side
    /// reports its median round (<see cref="BenchMeasurement.MedianOf"/>), so a slow stretch of a shared machine that
    /// lands on one side's round moves neither figure. The untuned baseline runs once, after the rounds.
    /// </summary>
    public int Rounds { get; init; } = 1;

    public void Validate()
    {
        if (Warmup < 0) throw new ArgumentException($"warmup must be ≥ 0, got {Warmup}");
        if (Iterations < 1) throw new ArgumentException($"iterations must be ≥ 1, got {Iterations}");
        if (!(MaxSeconds > 0)) throw new ArgumentException($"max seconds must be > 0, got {MaxSeconds}");
        if (Threads < 1) throw new ArgumentException($"threads must be ≥ 1, got {Threads}");
        if (WaitIdleSeconds < 0) throw new ArgumentException($"wait-idle seconds must be ≥ 0, got {WaitIdleSeconds}");
        if (ImageSize < 32) throw new ArgumentException($"image size must be ≥ 32, got {ImageSize}");
        if (Rounds < 1) throw new ArgumentException($"rounds must be ≥ 1, got {Rounds}");
    }
}

/// <summary>
/// What one side measured for a cell: images/s from the median timed iteration, and the process's peak resident
/// memory during the cell (<see cref="PeakIsSinceStart"/> when the kernel did not let the peak be reset, so it is the
/// peak since the process started).
/// </summary>
public sealed record BenchMeasurement(double ImagesPerSecond, double MedianSeconds, int Iterations, long? PeakRssBytes,
    bool PeakIsSinceStart = false, long? PeakCudaBytes = null)
{
    /// <summary>
    /// One figure from several rounds of the same cell (<see cref="BenchSettings.Rounds"/>): the median round's images/s
    /// and iteration time (one actual round, so images/s stays B ÷ its time; for an even count the slower of the middle
    /// two), the timed iterations of every round, the highest peak; null for no rounds.
    /// </summary>
    public static BenchMeasurement? MedianOf(IReadOnlyList<BenchMeasurement> rounds)
    {
        if (rounds.Count == 0) return null;
        if (rounds.Count == 1) return rounds[0];
        static long? Highest(IEnumerable<long?> values) => values.Where(v => v is not null).Max();
        var median = rounds.OrderBy(r => r.ImagesPerSecond).ElementAt((rounds.Count - 1) / 2);
        return median with
        {
            Iterations = rounds.Sum(r => r.Iterations),
            PeakRssBytes = Highest(rounds.Select(r => r.PeakRssBytes)),
            PeakIsSinceStart = rounds.Any(r => r.PeakIsSinceStart),
            PeakCudaBytes = Highest(rounds.Select(r => r.PeakCudaBytes)),
        };
    }
}

/// <summary>
/// One table row: the cell, the figures of each side (null when a side did not run) and a note. <see cref="PyTorch"/>
/// is the tuned baseline (the headline); <see cref="PyTorchUntuned"/> PyTorch as users run it.
/// </summary>
public sealed record BenchRow(BenchCell Cell, int Threads, BenchMeasurement? MipIn, BenchMeasurement? PyTorch, string Note)
{
    /// <summary>The untuned baseline (contiguous, hooks, glibc defaults), or null.</summary>
    public BenchMeasurement? PyTorchUntuned { get; init; }

    /// <summary>MipIn images/s divided by the untuned baseline's, or null.</summary>
    public double? RatioUntuned => MipIn is { } m && PyTorchUntuned is { } p && p.ImagesPerSecond > 0 ? m.ImagesPerSecond / p.ImagesPerSecond : null;

    /// <summary>Machine-wide CPU idleness just before our side and the PyTorch side ran (with --wait-idle), or null.</summary>
    public (double? MipIn, double? PyTorch) IdleBefore { get; init; }

    /// <summary>MipIn images/s divided by the tuned baseline's (higher is better for MipIn), or null.</summary>
    public double? Ratio => MipIn is { } m && PyTorch is { } p && p.ImagesPerSecond > 0 ? m.ImagesPerSecond / p.ImagesPerSecond : null;
}
