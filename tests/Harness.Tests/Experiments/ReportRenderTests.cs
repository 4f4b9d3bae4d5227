using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Harness.Tests.Experiments;

/// <summary>Headless Chromium (Debian's chromium; scripts/bootstrap.sh --tests installs it) renders report.html offline.</summary>
[Collection(SerialCollection.Name)]
public sealed partial class ReportRenderTests
{
    [Fact]
    public void ChromiumLoadsTheReportTablesAndImages()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: run scripts/bootstrap.sh --tests (the README's test command does)");
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("report", """
            methods: [gradcam, center]
            metrics: [bbox_accuracy, pointing_game]
            shard_size: 4
            report:
              images: 2
            """);
        TempExperiment.Run(spec, "dataset.limit=4");
        var report = Path.Combine(experiment.Directory, "results", "report", "report.html");
        Assert.True(File.Exists(report));

        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(experiment.Directory, "chromium")}",
                     "--virtual-time-budget=10000", "--dump-dom", new Uri(report).AbsoluteUri,
                 })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        var dom = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "chromium did not finish");
        var loaded = ImagesLoaded().Match(dom);
        Assert.True(loaded.Success, $"no data-images-loaded attribute in the rendered DOM; chromium said: {stderr}");
        Assert.Equal(loaded.Groups[2].Value, loaded.Groups[1].Value); // every image decoded
        Assert.True(int.Parse(loaded.Groups[2].Value) >= 1);
        Assert.Contains("data-tables=\"2\"", dom); // one leaderboard table per metric
        Assert.Contains(">gradcam<", dom);
        // ScottPlot plots, inlined: a bar chart per metric and localisation against class sensitivity (not scored here: none).
        Assert.Contains("data-plots=\"2\"", dom);
        Assert.Contains("alt=\"plot: bbox_accuracy", dom);
        Assert.True(File.Exists(Path.Combine(experiment.Directory, "results", "report", "plots", "bar_pointing_game.svg")));
        Assert.Contains("<th>bbox_accuracy ↑</th>", dom); // the paper-style table with its direction arrows
    }

    [GeneratedRegex("data-images-loaded=\"(\\d+)/(\\d+)\"")]
    private static partial Regex ImagesLoaded();
}
