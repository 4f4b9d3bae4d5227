using Harness.Experiments;
using Harness.Grains;
using Harness.Silo;

namespace Harness.Client.Engines;

/// <summary>
/// Where a run's grains execute. The client plans the grain graph (one task per grain, grouped by stage) and keeps
/// the run manifest; an engine only starts tasks, reports what it knows about them, and cancels them. A new engine
/// (another scheduler, a cloud batch service) is one new type implementing this interface, registered in
/// <see cref="EngineRegistry"/>.
/// </summary>
public interface IEngine
{
    /// <summary>The name used by --engine and stored in run.json.</summary>
    string Name { get; }

    /// <summary>Checks options before anything is written (e.g. GPUs requested for a CUDA experiment); throws CommandLineException.</summary>
    void Validate(ExperimentSpec spec, ClusterOptions options);

    /// <summary>
    /// Starts <paramref name="work"/> (per stage, the task indices to run, stages in dependency order) and returns the
    /// jobs it submitted. The local engine runs the tasks to completion before returning and submits no jobs.
    /// </summary>
    IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun);

    /// <summary>The engine's view of each task of the run's jobs (latest job per task); tasks it knows nothing about are absent.</summary>
    IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run);

    /// <summary>Cancels the given jobs (all of the run's when null).</summary>
    IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds);
}

/// <summary>A run being acted on: its folder, manifest, and (when loaded) the spec and grain plan.</summary>
public sealed record RunContext(string Directory, RunManifest Manifest, ExperimentSpec? Spec = null, ExperimentGrains? Plan = null);

/// <summary>The tasks of one stage to start now.</summary>
public sealed record StageWork(RunStage Stage, IReadOnlyList<int> Tasks);

public enum TaskPhase { Done, Running, Pending, Failed, Cancelled, Lost }

/// <summary>What an engine knows about one task: its phase, the job holding it, and a detail (reason, error, log path).</summary>
public sealed record TaskState(TaskPhase Phase, string JobId, string Detail);
