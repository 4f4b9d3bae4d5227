using Harness.Experiments;
using Harness.Silo;
using Harness.Silo.Cluster;
using Harness.Torch;

namespace Harness.Client.Engines;

/// <summary>
/// The embedded default: one in-process silo with a slot per spec device runs the whole grain graph now, with
/// progress on stderr. Nothing is queued, so there is nothing to query or cancel (Ctrl+C stops a local run).
/// </summary>
public sealed class LocalEngine : IEngine
{
    public string Name => "local";

    public void Validate(ExperimentSpec spec, ClusterOptions options) { }

    public IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun)
    {
        if (dryRun) return Array.Empty<RunJob>();
        var plan = run.Plan!;
        var devices = run.Spec!.Devices.Select(Device.Parse).ToList();
        var progress = ProgressPrinter();
        RunController.RemoveInterruptedWrites(run);
        // The embedded Orleans silo runs the whole graph: the scheduler skips finished grains and orders the rest by dependency.
        var outcome = EmbeddedCluster.RunAsync(run.Manifest.Config, run.Manifest.Overrides, plan.All, plan.StatsDirectory, devices, Name,
            m => Console.Error.WriteLine(m), progress).GetAwaiter().GetResult();
        if (outcome.Executed > 0)
            Console.Error.WriteLine($"ran {outcome.Executed} grain(s) on {devices.Count} slot(s); models loaded {outcome.ModelLoads} time(s)");
        return Array.Empty<RunJob>();
    }

    /// <summary>One progress line per finished grain on stderr: grains done, images/s, ETA, the grain.</summary>
    public static IProgress<SiloProgress> ProgressPrinter() => new Progress<SiloProgress>(p =>
    {
        var remaining = p.Total - p.Done;
        var eta = p.Done > p.Skipped && p.Elapsed.TotalSeconds > 0
            ? TimeSpan.FromSeconds(p.Elapsed.TotalSeconds / (p.Done - p.Skipped) * remaining) : (TimeSpan?)null;
        var line = FormattableString.Invariant($"[{p.Elapsed:hh\\:mm\\:ss}] grains {p.Done}/{p.Total} ({p.Skipped} already done)  {p.ImagesPerSecond:F2} images/s");
        if (eta is { } e) line += FormattableString.Invariant($"  ETA {e:hh\\:mm\\:ss}");
        if (p.LastGrain.Length > 0) line += $"  finished {p.LastGrain}";
        Console.Error.WriteLine(line);
    });

    public IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run) =>
        new Dictionary<(string, int), TaskState>();

    public IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds) =>
        throw new CommandLineException("a local run has nothing queued: it stops with Ctrl+C in the terminal that runs it " +
                                                "(finished grains are kept; `mipin resume` or `mipin run` continues it)");
}
