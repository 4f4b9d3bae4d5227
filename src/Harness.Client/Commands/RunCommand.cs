using System.CommandLine;
using Harness.Client.Engines;
using Harness.Data;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin run CONFIG`: plans the experiment's grains (train trainable methods (MIP-IN inverses) → score shards → aggregate), runs them on
/// an embedded silo with one slot per device, shows progress, and prints the leaderboard. Interrupt at any time
/// (Ctrl+C or a kill); running it again resumes, skipping finished grains. Same as `mipin submit CONFIG --engine local`.
/// </summary>
public static class RunCommand
{
    public static Argument<FileInfo> ConfigArgument() => new("config") { Description = "Experiment spec (configs/*.yaml)." };

    public static Option<string[]> SetOption() => new("--set")
    {
        Description = "Override a spec value: KEY.PATH=VALUE (YAML syntax), repeatable, e.g. --set dataset.root=/data/val --set methods=[gradcam,center].",
        AllowMultipleArgumentsPerToken = true,
    };

    public static Option<string?> ClusterOption() => new("--cluster")
    {
        Description = "Send the run to a standing Orleans cluster, redis://HOST:PORT (its membership store; silos join with `mipin silo --cluster`). Default: an embedded silo on this machine.",
    };

    public static Option<FileInfo?> SecretFileOption() => new("--secret-file")
    {
        Description = "The cluster's secret (the Redis password), one line, mode 0600. Without it a cluster with a secret refuses the client.",
    };

    public static Command Create()
    {
        var config = ConfigArgument();
        var set = SetOption();
        var cluster = ClusterOption();
        var secret = SecretFileOption();
        var command = new Command("run", "Run an experiment (embedded silo, or a standing cluster with --cluster) and print its leaderboard.") { config, set, cluster, secret };
        command.SetAction(parse => Run(parse.GetValue(config)!.FullName, parse.GetValue(set) ?? Array.Empty<string>(),
            parse.GetValue(cluster), parse.GetValue(secret)?.FullName));
        return command;
    }

    public static int Run(string configPath, IReadOnlyList<string> overrides, string? cluster = null, string? secretFile = null)
    {
        IEngine engine = cluster is null ? new LocalEngine() : new ClusterEngine();
        var run = RunController.Submit(configPath, overrides, engine, new ClusterOptions { Cluster = cluster, SecretFile = secretFile }, dryRun: false);
        PrintResults(run.Spec!.ResultsDir);
        return 0;
    }

    /// <summary>Prints the leaderboard table and where the result files are.</summary>
    public static void PrintResults(string resultsDir)
    {
        var leaderboard = Path.Combine(resultsDir, "leaderboard.csv");
        Console.WriteLine();
        PrintLeaderboard(leaderboard);
        Console.WriteLine();
        Console.WriteLine($"leaderboard: {leaderboard}");
        Console.WriteLine($"per-image rows: {Path.Combine(resultsDir, "images.csv")}");
        Console.WriteLine($"throughput per grain: {Path.Combine(resultsDir, "throughput.csv")}");
        Console.WriteLine($"report: {Path.Combine(resultsDir, "report.html")}");
    }

    private static void PrintLeaderboard(string path)
    {
        var (header, rows) = CsvTable.Read(path);
        int Col(string name) => Array.IndexOf(header, name);
        var lines = rows.Select(r => new[] { r[Col("metric")], r[Col("method")], r[Col("layer")], r[Col("mean")], $"{r[Col("ci95_low")]}–{r[Col("ci95_high")]}", r[Col("n")], r[Col("skipped")] }).ToList();
        TextTable.Print(new[] { "metric", "method", "layer", "mean", "95% CI", "n", "skipped" }, lines);
    }
}
