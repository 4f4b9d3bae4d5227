using System.CommandLine;
using Harness.Client.Engines;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin coordinate RUN --cluster redis://HOST:PORT [--secret-file F] [--wait-for-silos N]`: runs a submitted run's unfinished grains on
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
        var waitForSilos = new Option<int>("--wait-for-silos")
        {
            Description = "Start no grain before this many silos are active (at most 5 minutes, then start with those that joined). " +
                          "The Slurm job passes its silo count: a silo killed while the others are still joining would block them.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("coordinate", "Run a submitted run's unfinished grains on a cluster (what the Slurm job runs).") { run, cluster, secret, takeOver, waitForSilos };
        command.SetAction(parse =>
        {
            if (parse.GetValue(waitForSilos) < 0) throw new CommandLineException($"--wait-for-silos {parse.GetValue(waitForSilos)}: give 0 or more silos");
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            var context = RunController.Load(directory, withPlan: true);
            ClusterEngine.Coordinate(context, parse.GetValue(cluster)!, parse.GetValue(secret)?.FullName, parse.GetValue(takeOver), parse.GetValue(waitForSilos));
            Console.Error.WriteLine($"run finished: leaderboard in {Path.GetDirectoryName(directory)}");
            return 0;
        });
        return command;
    }
}
