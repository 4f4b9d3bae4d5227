using System.CommandLine;
using System.Globalization;
using Harness.Grains.Experiments;
using Harness.Grains.Experiments.Grains;
using Harness.Silo;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin run CONFIG`: plans the experiment's grains (train MIP-IN inverses → score shards → aggregate), runs them on
/// an embedded silo with one slot per device, shows progress, and prints the leaderboard. Interrupt at any time
/// (Ctrl+C or a kill); running it again resumes, skipping finished grains.
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = new Argument<FileInfo>("config") { Description = "Experiment spec (configs/*.yaml)." };
        var set = new Option<string[]>("--set") { Description = "Override a spec value: KEY.PATH=VALUE (YAML syntax), repeatable, e.g. --set dataset.root=/data/val --set methods=[gradcam,center].", AllowMultipleArgumentsPerToken = true };
        var command = new Command("run", "Run an experiment on this machine (embedded silo) and print its leaderboard.") { config, set };
        command.SetAction(parse => Run(parse.GetValue(config)!.FullName, parse.GetValue(set) ?? Array.Empty<string>()));
        return command;
    }

    public static int Run(string configPath, IReadOnlyList<string> overrides)
    {
        var spec = SpecLoader.Load(configPath, overrides);
        var plan = new ExperimentGrains(spec);
        Console.Error.WriteLine($"experiment {spec.Name}: {spec.Models.Count} model(s) × {spec.Methods.Count} method variant(s), " +
                                $"{plan.Data.Scored.Count} scored images in {plan.Data.Shards.Count} shard(s)" +
                                (plan.Data.Training.Count > 0 ? $", MIP-IN trained on {plan.Data.Training.Count}" : "") +
                                $"; {plan.All.Count} grains on {string.Join(", ", spec.Devices)}");
        if (plan.Data.Dataset.Issues.Count > 0)
            Console.Error.WriteLine($"dataset: {plan.Data.Dataset.Issues.Count} image(s) skipped while reading annotations (listed in the report)");
        var devices = spec.Devices.Select(Device.Parse).ToList();
        var progress = new Progress<SiloProgress>(p =>
        {
            var remaining = p.Total - p.Done;
            var eta = p.Done > p.Skipped && p.Elapsed.TotalSeconds > 0
                ? TimeSpan.FromSeconds(p.Elapsed.TotalSeconds / (p.Done - p.Skipped) * remaining) : (TimeSpan?)null;
            var line = FormattableString.Invariant($"[{p.Elapsed:hh\\:mm\\:ss}] grains {p.Done}/{p.Total} ({p.Skipped} already done)  {p.ImagesPerSecond:F2} images/s");
            if (eta is { } e) line += FormattableString.Invariant($"  ETA {e:hh\\:mm\\:ss}");
            if (p.LastGrain.Length > 0) line += $"  finished {p.LastGrain}";
            Console.Error.WriteLine(line);
        });
        SiloService.RunEmbeddedAsync(plan.All, devices, m => Console.Error.WriteLine(m), progress).GetAwaiter().GetResult();

        var leaderboard = Path.Combine(spec.ResultsDir, "leaderboard.csv");
        Console.WriteLine();
        PrintLeaderboard(leaderboard);
        Console.WriteLine();
        Console.WriteLine($"leaderboard: {leaderboard}");
        Console.WriteLine($"per-image rows: {Path.Combine(spec.ResultsDir, "images.csv")}");
        Console.WriteLine($"report: {Path.Combine(spec.ResultsDir, "report.html")}");
        return 0;
    }

    private static void PrintLeaderboard(string path)
    {
        var (header, rows) = CsvTable.Read(path);
        int Col(string name) => Array.IndexOf(header, name);
        var lines = rows.Select(r => new[] { r[Col("metric")], r[Col("method")], r[Col("layer")], r[Col("mean")], $"{r[Col("ci95_low")]}–{r[Col("ci95_high")]}", r[Col("n")], r[Col("skipped")] }).ToList();
        var titles = new[] { "metric", "method", "layer", "mean", "95% CI", "n", "skipped" };
        var widths = titles.Select((t, i) => Math.Max(t.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        Console.WriteLine(string.Join("  ", titles.Select((t, i) => t.PadRight(widths[i]))));
        foreach (var l in lines) Console.WriteLine(string.Join("  ", l.Select((v, i) => v.PadRight(widths[i]))));
    }
}
