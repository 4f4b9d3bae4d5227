using Harness.Client.Commands;
using Harness.Data;
using Harness.Experiments;
using Harness.Grains;
using Harness.Silo;

namespace Harness.Client.Engines;

/// <summary>One task in a status report: its stage, index, grains and state.</summary>
public sealed record TaskReport(string Stage, int Task, IReadOnlyList<string> Grains, TaskState State);

/// <summary>The state of every task of a run (see <see cref="RunController.Status"/>).</summary>
public sealed record RunStatus(string Directory, RunManifest Manifest, IReadOnlyList<TaskReport> Tasks)
{
    public bool IsFinished => Tasks.All(t => t.State.Phase == TaskPhase.Done);

    /// <summary>True when nothing is queued or running any more (finished, or stuck until resumed).</summary>
    public bool IsSettled => Tasks.All(t => t.State.Phase is not (TaskPhase.Running or TaskPhase.Pending));
}

/// <summary>
/// What submit, status, resume and cancel do with any engine: plan the grains from the spec, group them by stage (a task per grain),
/// keep the run manifest, and decide which tasks still need to run from the grains' own outputs (the engine's
/// job states only say what is queued, running or failed).
/// </summary>
public static class RunController
{
    /// <summary>Plans an experiment and starts every unfinished task on <paramref name="engine"/>.</summary>
    public static RunContext Submit(string configPath, IReadOnlyList<string> overrides, IEngine engine, ClusterOptions options, bool dryRun)
    {
        var workingDirectory = Directory.GetCurrentDirectory();
        var spec = SpecLoader.Load(configPath, overrides);
        engine.Validate(spec, options);
        var runDirectory = RunManifest.DirectoryFor(spec);
        if (File.Exists(Path.Combine(runDirectory, RunManifest.FileName)))
        {
            var previous = Load(runDirectory, withPlan: false);
            if (previous.Manifest.Engine != "local")
            {
                var live = EngineRegistry.Create(previous.Manifest.Engine).Query(previous).Values
                    .Count(s => s.Phase is TaskPhase.Running or TaskPhase.Pending);
                if (live > 0)
                    throw new CommandLineException($"{runDirectory}: the experiment's previous run still has {live} task(s) queued or running; " +
                                                   $"follow it with `mipin status {runDirectory}`, or `mipin cancel {runDirectory}` first");
            }
        }
        Directory.CreateDirectory(runDirectory);
        // The run keeps its own copy of the config: a queued run must not change when the original is edited.
        var snapshot = Path.Combine(runDirectory, Path.GetFileName(spec.SourceFile));
        if (!string.Equals(Path.GetFullPath(snapshot), spec.SourceFile, StringComparison.Ordinal))
            File.Copy(spec.SourceFile, snapshot, overwrite: true);
        spec = SpecLoader.Load(snapshot, overrides);
        var plan = new ExperimentGrains(spec);
        Console.Error.WriteLine($"experiment {spec.Name}: {spec.Models.Count} model(s) × {spec.Methods.Count} method variant(s), " +
                                $"{plan.Data.Scored.Count} scored images in {plan.Data.Shards.Count} shard(s)" +
                                (plan.Data.Training.Count > 0 ? $", {plan.Plan.TrainableMethodNames} trained on {plan.Data.Training.Count}" : "") +
                                $"; {plan.All.Count} grains on {string.Join(", ", spec.Devices)} ({engine.Name} engine)");
        if (plan.Data.Dataset.Issues.Count > 0)
            Console.Error.WriteLine($"dataset: {plan.Data.Dataset.Issues.Count} image(s) skipped while reading annotations (listed in the report)");
        var manifest = new RunManifest
        {
            Engine = engine.Name, Experiment = spec.Name, Config = snapshot, SourceConfig = Path.GetFullPath(configPath),
            Overrides = overrides.ToList(), WorkingDirectory = workingDirectory, CreatedUtc = DateTime.UtcNow,
            Stages = StagesOf(plan.All), Options = options,
            DoneFiles = DoneFilesOf(plan),
        };
        var run = new RunContext(runDirectory, manifest, spec, plan);
        manifest.Save(runDirectory);
        return Start(run, engine, dryRun);
    }

    /// <summary>Starts the tasks without finished outputs (and the stages after them); refuses while tasks are live.</summary>
    public static RunContext Resume(string runDirectory, bool dryRun)
    {
        var run = Load(runDirectory, withPlan: true);
        var engine = EngineRegistry.Create(run.Manifest.Engine);
        var states = engine.Query(run);
        var live = states.Values.Count(s => s.Phase is TaskPhase.Running or TaskPhase.Pending);
        if (live > 0)
            throw new CommandLineException($"{runDirectory}: {live} task(s) are still queued or running; wait for them " +
                                           $"(`mipin status {runDirectory} --wait`) or `mipin cancel {runDirectory}` first");
        return Start(run, engine, dryRun);
    }

    /// <summary>
    /// The state of each task: done from its grains' outputs, otherwise what the engine reports. A manifest that records
    /// its grains' done files is answered from them alone (a finished grain's marker is trusted: nothing is re-planned
    /// and no input is read; `mipin verify` re-checks); an older one is re-planned.
    /// </summary>
    public static RunStatus Status(string runDirectory)
    {
        var manifest = RunManifest.Load(runDirectory);
        var run = manifest.DoneFiles.Count > 0 ? new RunContext(runDirectory, manifest) : Load(runDirectory, withPlan: true);
        var engine = EngineRegistry.Create(run.Manifest.Engine);
        var engineStates = engine.Query(run);
        var reports = new List<TaskReport>();
        foreach (var stage in run.Manifest.Stages)
            for (var t = 0; t < stage.Tasks.Count; t++)
            {
                var keys = stage.Tasks[t];
                TaskState state;
                engineStates.TryGetValue((stage.Name, t), out var known);
                // Outputs are atomic and marked last (the aggregate's marker follows its files): present means done.
                if (IsDone(run, keys)) state = new TaskState(TaskPhase.Done, known?.JobId ?? "", "");
                else if (known is not null && known.Phase != TaskPhase.Done) state = known;
                else state = new TaskState(TaskPhase.Lost, known?.JobId ?? "", run.Manifest.Engine == "local"
                    ? "not finished (the local run was interrupted or has not reached it)"
                    : "no output and nothing queued (cancelled, killed, or never submitted)");
                reports.Add(new TaskReport(stage.Name, t, keys, state));
            }
        return new RunStatus(runDirectory, run.Manifest, reports);
    }

    /// <summary>Cancels the run's queued and running jobs; finished outputs stay.</summary>
    public static IReadOnlyList<string> Cancel(string runDirectory)
    {
        var run = Load(runDirectory, withPlan: false);
        return EngineRegistry.Create(run.Manifest.Engine).Cancel(run, null);
    }

    private static RunContext Start(RunContext run, IEngine engine, bool dryRun)
    {
        var work = new List<StageWork>();
        foreach (var stage in run.Manifest.Stages)
        {
            var tasks = Enumerable.Range(0, stage.Tasks.Count).Where(t => !IsDone(run, stage.Tasks[t])).ToList();
            work.Add(new StageWork(stage, tasks));
        }
        var jobs = engine.Start(run, work, dryRun);
        var manifest = run.Manifest with
        {
            Jobs = run.Manifest.Jobs.Concat(jobs).ToList(),
            DoneFiles = DoneFilesOf(run.Plan!), // also fills in older manifests
        };
        manifest.Save(run.Directory);
        return run with { Manifest = manifest };
    }

    /// <summary>
    /// Before a run's grains (re)start: deletes the temporary files of writes that an earlier attempt did not finish
    /// (a SIGKILLed silo, a cancelled or requeued job; see <see cref="AtomicFile.RemoveInterruptedWrites"/>) and says so.
    /// </summary>
    public static void RemoveInterruptedWrites(RunContext run)
    {
        var removed = AtomicFile.RemoveInterruptedWrites(run.Spec!.ResultsDir);
        if (removed.Count > 0)
            Console.Error.WriteLine($"removed {removed.Count} temporary file(s) of writes an earlier attempt did not finish (first: {removed[0]})");
    }

    /// <summary>Loads a run folder; with <paramref name="withPlan"/>, re-plans its grains from the config snapshot.</summary>
    public static RunContext Load(string runDirectory, bool withPlan)
    {
        var manifest = RunManifest.Load(runDirectory);
        if (!withPlan) return new RunContext(runDirectory, manifest);
        var current = Directory.GetCurrentDirectory();
        try
        {
            var spec = manifest.LoadSpec();
            var plan = new ExperimentGrains(spec);
            var keys = plan.All.Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
            var missing = manifest.Stages.SelectMany(s => s.Tasks).SelectMany(t => t).Where(k => !keys.Contains(k)).ToList();
            if (missing.Count > 0)
                throw new CommandLineException($"{manifest.Config}: the plan no longer has grain(s) {string.Join(", ", missing.Take(3))}; " +
                                               "the data changed since submit: submit the experiment again");
            return new RunContext(runDirectory, manifest, spec, plan);
        }
        finally
        {
            Directory.SetCurrentDirectory(current);
        }
    }

    /// <summary>Groups a plan's grains by stage (in plan order), one task per grain.</summary>
    public static IReadOnlyList<RunStage> StagesOf(IReadOnlyList<IWorkGrain> grains)
    {
        var stageOf = grains.ToDictionary(g => g.Key, g => g.Stage, StringComparer.Ordinal);
        return grains.GroupBy(g => g.Stage).Select(group => new RunStage(
            group.Key,
            group.Select(g => (IReadOnlyList<string>)[g.Key]).ToList(),
            group.SelectMany(g => g.DependsOn).Select(d => stageOf[d]).Where(s => s != group.Key).Distinct().ToList())).ToList();
    }

    /// <summary>
    /// <paramref name="state"/> for every task of <paramref name="manifest"/>: what an engine that runs the whole plan
    /// at once (one Slurm job, one coordinator) knows; the controller reads done tasks from their outputs first.
    /// </summary>
    public static Dictionary<(string Stage, int Task), TaskState> EveryTask(RunManifest manifest, TaskState state) =>
        manifest.Stages.SelectMany(stage => Enumerable.Range(0, stage.Tasks.Count).Select(t => (stage.Name, t)))
            .ToDictionary(k => k, _ => state);

    private static Dictionary<string, string> DoneFilesOf(ExperimentGrains plan) =>
        plan.All.ToDictionary(g => g.Key, g => g.DoneFile, StringComparer.Ordinal);

    private static bool IsDone(RunContext run, IReadOnlyList<string> keys)
    {
        if (run.Plan is null) return keys.All(k => IsDoneByFile(run.Manifest, k));
        var byKey = run.Plan.All.ToDictionary(g => g.Key, StringComparer.Ordinal);
        return keys.All(k => ExperimentGrains.IsFinished(byKey[k]));
    }

    // The quick check: the grain's done file exists; the aggregate's (the leaderboard) must also be newer than every
    // other grain's, as AggregateGrain.IsUpToDate asks of the shards it summarises.
    private static bool IsDoneByFile(RunManifest manifest, string key)
    {
        if (!manifest.DoneFiles.TryGetValue(key, out var file) || !File.Exists(file)) return false;
        if (!key.StartsWith("aggregate/", StringComparison.Ordinal)) return true;
        var written = File.GetLastWriteTimeUtc(file);
        return manifest.DoneFiles.Where(p => !p.Key.StartsWith("aggregate/", StringComparison.Ordinal))
            .All(p => File.Exists(p.Value) && File.GetLastWriteTimeUtc(p.Value) <= written);
    }
}
