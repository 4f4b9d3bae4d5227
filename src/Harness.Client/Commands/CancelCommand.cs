using System.CommandLine;
using Harness.Client.Engines;

namespace Harness.Client.Commands;

/// <summary>`mipin cancel RUN`: cancels the run's queued and running jobs. Finished grains keep their outputs; `mipin resume` continues.</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var run = StatusCommand.RunArgument();
        var command = new Command("cancel", "Cancel a submitted run's jobs (finished outputs are kept).") { run };
        command.SetAction(parse =>
        {
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            var jobs = RunController.Cancel(directory);
            Console.WriteLine(jobs.Count == 0 ? "nothing to cancel" : $"cancelled job(s) {string.Join(", ", jobs)}; finished outputs are kept; continue with mipin resume {directory}");
            return 0;
        });
        return command;
    }
}
