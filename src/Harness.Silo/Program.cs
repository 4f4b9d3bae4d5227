using Harness.Experiments;
using Harness.Grains;
using Harness.Torch;

namespace Harness.Silo;

/// <summary>
/// The standalone silo process that cluster engines start, one per array task:
/// <code>mipin-silo task RUN_DIR STAGE INDEX</code>
/// runs the grains of task INDEX of STAGE from the run manifest (RUN_DIR/run.json) on the devices the scheduler
/// assigned, writing outputs and per-grain stats atomically. Grains already done are skipped, so a requeued task
/// finishes only what is missing. Local runs embed <see cref="SiloService"/> in the client instead.
/// Exit codes: 0 done; 1 a grain failed (retrying may help); 3 the task cannot run as configured (missing GPU,
/// unreadable config, unfinished dependency): retrying cannot help; 2 usage.
/// </summary>
public static class Program
{
    public const int GrainFailed = 1;
    public const int Usage = 2;
    public const int CannotRun = 3;
    public const int Interrupted = 130;

    public static int Main(string[] args)
    {
        // Same host-memory policy as the client (see Harness.Torch.HostMemory): shards run for hours.
        Harness.Torch.HostMemory.KeepFreedMemory();
        try
        {
            Harness.Torch.IntraOpThreads.Configure(); // the cores Slurm gave this task, or MIPIN_THREADS
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"mipin-silo: {e.Message}");
            return CannotRun;
        }
        int maxRequeues = int.MaxValue;
        if (args.Length == 6 && args[4] == "--max-requeues" && int.TryParse(args[5], out var m)) maxRequeues = m;
        else if (args.Length != 4) args = Array.Empty<string>();
        if (args.Length < 4 || args[0] != "task" || !int.TryParse(args[3], out var index))
        {
            Console.Error.WriteLine("usage: mipin-silo task RUN_DIR STAGE INDEX [--max-requeues N]\n" +
                                    "  started by `mipin submit --engine slurm` in each array task; for local runs use `mipin run CONFIG`.\n" +
                                    "  --max-requeues: give up (exit 3) when Slurm has requeued the task more often (SLURM_RESTART_COUNT)\n" +
                                    "  and its grains are still not done.");
            return Usage;
        }
        try
        {
            return RunTask(Path.GetFullPath(args[1]), args[2], index, maxRequeues);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("mipin-silo: interrupted (SIGTERM: cancelled or requeued); grains that finished are kept");
            return Interrupted;
        }
        catch (Exception e) when (e is DeviceUnavailableException or SpecException or FileNotFoundException or
                                      DirectoryNotFoundException or InvalidDataException or DependencyNotDoneException or
                                      DllNotFoundException)
        {
            Console.Error.WriteLine($"mipin-silo: error: {e.Message}");
            return CannotRun;
        }
        catch (GrainFailedException e)
        {
            Console.Error.WriteLine($"mipin-silo: error: {e.Message}");
            Console.Error.WriteLine(e.InnerException);
            return GrainFailed;
        }
    }

    private static int RunTask(string runDirectory, string stageName, int index, int maxRequeues)
    {
        var manifest = RunManifest.Load(runDirectory);
        var stage = manifest.Stage(stageName);
        if (index < 0 || index >= stage.Tasks.Count)
            throw new InvalidDataException($"{runDirectory}: stage {stageName} has tasks 0-{stage.Tasks.Count - 1}, not {index}");
        var spec = manifest.LoadSpec();
        var plan = new ExperimentGrains(spec);
        var byKey = plan.All.ToDictionary(g => g.Key, StringComparer.Ordinal);
        var grains = stage.Tasks[index].Select(k => byKey.TryGetValue(k, out var g) ? g
            : throw new InvalidDataException($"{manifest.Config}: grain {k} of the run is no longer in the plan (the config or data changed since submit); submit the experiment again")).ToList();

        // Grains of earlier stages must be done: the scheduler starts this stage after them (afterok).
        var inTask = grains.Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var external = grains.SelectMany(g => g.DependsOn).Where(d => !inTask.Contains(d)).Distinct().ToList();
        foreach (var d in external)
            if (!byKey[d].IsDone())
                throw new DependencyNotDoneException($"grain {d}, needed by {string.Join(", ", inTask)}, has no finished output: " +
                                                     $"run `mipin status {runDirectory}` and `mipin resume {runDirectory}`");

        // A requeued task (preemption, node failure) whose grains finished before the requeue has nothing left to do.
        var requeues = int.TryParse(Environment.GetEnvironmentVariable("SLURM_RESTART_COUNT"), out var r) ? r : 0;
        if (grains.All(g => g.IsDone() || requeues > 0 && g is AggregateGrain a && a.IsUpToDate()))
        {
            Console.Error.WriteLine($"mipin-silo: {stageName} task {index}: already done ({string.Join(", ", inTask)})");
            return 0;
        }
        if (requeues > maxRequeues)
            throw new DependencyNotDoneException($"{stageName} task {index} was requeued {requeues} times (limit {maxRequeues}) and is still not done; " +
                                                 $"`mipin resume {runDirectory}` starts it again");

        var devices = SiloDevices.Resolve(spec.Devices, Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count);
        Console.Error.WriteLine($"mipin-silo: {manifest.Experiment} {stageName} task {index}: {string.Join(", ", inTask)} on " +
                                $"{string.Join(", ", devices)} ({Environment.MachineName}, CUDA_VISIBLE_DEVICES={Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "unset"})");
        var progress = new Progress<SiloProgress>(p =>
        {
            if (p.LastGrain.Length > 0) Console.Error.WriteLine(FormattableString.Invariant($"mipin-silo: finished {p.LastGrain} ({p.Done}/{p.Total}, {p.ImagesPerSecond:F2} images/s)"));
            else if (p.Skipped > 0) Console.Error.WriteLine($"mipin-silo: {p.Skipped} of {p.Total} grain(s) already done, skipped");
        });
        Cluster.EmbeddedCluster.RunAsync(manifest.Config, manifest.Overrides, grains, plan.StatsDirectory, devices, manifest.Engine,
            m => Console.Error.WriteLine(m), progress, external).GetAwaiter().GetResult();
        return 0;
    }
}

/// <summary>The task cannot run: a dependency from an earlier stage has no output, or the requeue limit is reached.</summary>
public sealed class DependencyNotDoneException(string message) : Exception(message);
