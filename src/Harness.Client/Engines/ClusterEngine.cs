using Harness.Experiments;
using Harness.Silo;
using Harness.Silo.Cluster;

namespace Harness.Client.Engines;

/// <summary>
/// A standing Orleans cluster (silos started with `mipin silo --cluster redis://HOST:PORT`): this client process is
/// the run's coordinator and sends each grain to a free device slot of any silo; it runs in the foreground like the
/// local engine (Ctrl+C stops it, `mipin resume` continues). Silos may join or leave during the run.
/// </summary>
public sealed class ClusterEngine : IEngine
{
    public string Name => "cluster";

    public int GrainsPerTask(ExperimentSpec spec, ClusterOptions options) => 1;

    public void Validate(ExperimentSpec spec, ClusterOptions options)
    {
        if (options.Cluster is null) throw new CommandLineException("the cluster engine needs --cluster redis://HOST:PORT");
        ClusterAddress.Parse(options.Cluster, options.SecretFile); // a bad URL or secret file fails here, before anything is written
    }

    public IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun)
    {
        if (dryRun) return Array.Empty<RunJob>();
        var options = run.Manifest.Options;
        var cluster = ClusterAddress.Parse(options.Cluster!, options.SecretFile);
        var plan = run.Plan!;
        var outcome = StandingCluster.RunAsync(cluster, run.Manifest.Config, run.Manifest.Overrides, plan.All, Name,
            m => Console.Error.WriteLine(m), LocalEngine.ProgressPrinter()).GetAwaiter().GetResult();
        Console.Error.WriteLine($"ran {outcome.Executed} grain(s) on {cluster} ({outcome.Retried} re-run after a silo was lost); " +
                                $"model loads per silo: {string.Join(", ", outcome.ModelLoadsPerSilo.Select(p => $"{p.Key} {p.Value}"))}");
        return Array.Empty<RunJob>();
    }

    public IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run) => new Dictionary<(string, int), TaskState>();

    public IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds) =>
        throw new CommandLineException("a cluster run is coordinated by the `mipin run` process that started it: stop it with Ctrl+C " +
                                       "there (finished grains are kept; `mipin resume` continues it)");
}
