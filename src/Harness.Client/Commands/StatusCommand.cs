using System.CommandLine;
using Harness.Client.Engines;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin status RUN [--wait]`: per stage, how many tasks are done (from their output files), running, pending,
/// blocked, failed or lost (from the engine: squeue/sacct for Slurm), then one line per task that needs attention,
/// with its log path. Exit code: 0 when the run finished, 1 when a task failed or is lost, 2 while work is queued.
/// </summary>
public static class StatusCommand
{
    public static Argument<string> RunArgument() => new("run") { Description = "The run folder ({results}/{experiment}/run), the experiment's results folder, or its config." };

    public static Command Create()
    {
        var run = RunArgument();
        var wait = new Option<bool>("--wait") { Description = "Poll until nothing is queued or running any more, printing each change." };
        var interval = new Option<double>("--interval") { Description = "Seconds between polls with --wait (default 10) or --watch (default 2)." };
        var watch = new Option<bool>("--watch")
        {
            Description = "Live view until the run finishes (exit code 0) or, for a cluster or Slurm run, stops without finishing (exit code 1): grains and images done, images/s, ETA, and for a run on a standing cluster every silo's slots and the grain each runs.",
        };
        var command = new Command("status", "Show what a submitted run is doing.") { run, wait, interval, watch };
        command.SetAction(parse =>
        {
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            if (parse.GetValue(watch))
                return RunWatch.Watch(directory, TimeSpan.FromSeconds(Math.Max(0.5, parse.GetValue(interval) is > 0 and var w ? w : 2)));
            var status = RunController.Status(directory);
            if (parse.GetValue(wait))
            {
                var last = "";
                while (true)
                {
                    var summary = Summary(status);
                    if (summary != last) Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {summary}");
                    last = summary;
                    if (status.IsSettled) break;
                    Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0.5, parse.GetValue(interval) is > 0 and var i ? i : 10)));
                    status = RunController.Status(directory);
                }
            }
            Print(status);
            return status.IsFinished ? 0 : status.IsSettled ? 1 : 2;
        });
        return command;
    }

    private static readonly TaskPhase[] Phases = Enum.GetValues<TaskPhase>();

    /// <summary>One line: counts of tasks per phase over the whole run.</summary>
    public static string Summary(RunStatus status) =>
        string.Join(", ", Phases.Select(p => (p, n: status.Tasks.Count(t => t.State.Phase == p))).Where(x => x.n > 0)
            .Select(x => $"{x.n} {x.p.ToString().ToLowerInvariant()}")) + $" of {status.Tasks.Count} task(s)";

    public static void Print(RunStatus status)
    {
        var m = status.Manifest;
        Console.WriteLine($"run {status.Directory}: experiment {m.Experiment}, engine {m.Engine}, submitted {m.CreatedUtc.ToLocalTime():yyyy-MM-dd HH:mm}" +
                          (m.Jobs.Count > 0 ? $", jobs {string.Join(", ", m.Jobs.Select(j => $"{j.Stage}={j.JobId}"))}" : ""));
        var rows = m.Stages.Select(stage =>
        {
            var tasks = status.Tasks.Where(t => t.Stage == stage.Name).ToList();
            return (IReadOnlyList<string>)new[] { stage.Name, tasks.Count.ToString(), tasks.Sum(t => t.Grains.Count).ToString() }
                .Concat(Phases.Select(p => tasks.Count(t => t.State.Phase == p).ToString())).ToList();
        }).ToList();
        if (RunCoordinator.Live(status.Directory) is { } lease)
            Console.WriteLine($"coordinated by process {lease.Pid} on {lease.Host} since {lease.StartedUtc.ToLocalTime():yyyy-MM-dd HH:mm:ss}, cluster {lease.Cluster}");
        TextTable.Print(new[] { "stage", "tasks", "grains" }.Concat(Phases.Select(p => p.ToString().ToLowerInvariant())).ToList(), rows);
        foreach (var t in status.Tasks.Where(t => t.State.Phase is not (TaskPhase.Done or TaskPhase.Pending or TaskPhase.Running)))
            Console.WriteLine($"{t.State.Phase.ToString().ToLowerInvariant()}: {t.Stage} task {t.Task} ({string.Join(", ", t.Grains)})" +
                              (t.State.JobId.Length > 0 ? $", job {t.State.JobId}_{t.Task}" : "") + $": {t.State.Detail}");
        if (status.IsFinished) Console.WriteLine($"finished: leaderboard in {Path.GetDirectoryName(status.Directory)}");
        else if (status.IsSettled) Console.WriteLine($"to run what is missing: mipin resume {status.Directory}");
    }
}
