using System.CommandLine;
using Harness.Client.Engines;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin resume RUN`: starts again every task whose grains have no finished output (failed, cancelled, killed),
/// plus the stages after them, on the run's engine with its original options. Finished grains are never redone.
/// </summary>
public static class ResumeCommand
{
    public static Command Create()
    {
        var run = StatusCommand.RunArgument();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be resubmitted without submitting." };
        var command = new Command("resume", "Resubmit the unfinished grains of a run.") { run, dryRun };
        command.SetAction(parse =>
        {
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            var resumed = RunController.Resume(directory, parse.GetValue(dryRun));
            // Local and standing-cluster runs ran in the foreground; a Slurm job is queued.
            if (resumed.Manifest.Engine is "local" or "cluster") RunCommand.PrintResults(Path.GetDirectoryName(directory)!);
            else Console.WriteLine($"follow: mipin status {directory} --wait");
            return 0;
        });
        return command;
    }
}
