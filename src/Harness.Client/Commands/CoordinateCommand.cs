using System.CommandLine;
using Harness.Client.Engines;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin coordinate RUN --cluster redis://HOST:PORT [--secret-file F]`: runs a submitted run's unfinished grains on
/// a cluster, this process being the run's coordinator. The Slurm job of `mipin submit --engine slurm` runs it on its
/// first node against the cluster it started; by hand it sends any run folder to a standing cluster.
/// </summary>
public static class CoordinateCommand
{
    public static Command Create()
    {
        var run = StatusCommand.RunArgument();
        var cluster = RunCommand.ClusterOption();
        cluster.Required = true;
        var secret = RunCommand.SecretFileOption();
        var takeOver = new Option<bool>("--take-over")
        {
            Description = "Take the run even if its coordinator lease looks live (the Slurm job passes it after a requeue: Slurm runs one instance of a job).",
        };
        var command = new Command("coordinate", "Run a submitted run's unfinished grains on a cluster (what the Slurm job runs).") { run, cluster, secret, takeOver };
        command.SetAction(parse =>
        {
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            var context = RunController.Load(directory, withPlan: true);
            ClusterEngine.Coordinate(context, parse.GetValue(cluster)!, parse.GetValue(secret)?.FullName, parse.GetValue(takeOver));
            Console.Error.WriteLine($"run finished: leaderboard in {Path.GetDirectoryName(directory)}");
            return 0;
        });
        return command;
    }
}
