using Harness.Data;
using Harness.Experiments;
using Harness.Experiments.Statistics;
using Harness.Reports;
using Harness.Reports.Plots;

namespace Harness.Grains;

/// <summary>
/// Reads every shard's rows and writes leaderboard.csv, images.csv (all rows), report.html, and throughput.csv (one
/// row per executed grain: device, images/s, peak memory, from the silos' stats files). It first removes the
/// temporary files of writes a killed silo left (<see cref="AtomicFile.RemoveInterruptedWrites"/>).
/// </summary>
public sealed class AggregateGrain(ExperimentPlan plan, IReadOnlyList<string> dependsOn) : IWorkGrain
{
    public string Key => $"aggregate/{plan.Spec.Name}";
    public IReadOnlyList<string> DependsOn => dependsOn;
    public int Images => 0;
    public string LeaderboardPath => plan.LeaderboardPath;

    /// <summary>The leaderboard, written last; done when it is newer than every shard (see <see cref="IsUpToDate"/>).</summary>
    public string DoneFile => LeaderboardPath;
    public string ReportPath => plan.ReportPath;
    public string ThroughputPath => plan.ThroughputPath;

    // Always re-run: it is cheap and its inputs are the shard files.
    public bool IsDone() => false;

    /// <summary>For status reports: the leaderboard exists and is at least as new as every shard it summarises.</summary>
    public bool IsUpToDate()
    {
        if (!File.Exists(LeaderboardPath)) return false;
        var written = File.GetLastWriteTimeUtc(LeaderboardPath);
        return plan.Spec.Models.All(m => Enumerable.Range(0, plan.Data.Shards.Count)
            .All(s => File.Exists(plan.ShardPath(m, s)) && File.GetLastWriteTimeUtc(plan.ShardPath(m, s)) <= written));
    }

    public void Execute(GrainContext context)
    {
        // Every other grain has finished: a temporary file left now is a write killed during this attempt (a silo lost).
        var interrupted = AtomicFile.RemoveInterruptedWrites(plan.Spec.ResultsDir);
        if (interrupted.Count > 0) context.Log($"removed {interrupted.Count} temporary file(s) of killed writes (first: {interrupted[0]})");
        var metrics = plan.Spec.Metrics;
        var rows = new List<ImageRow>();
        foreach (var model in plan.Spec.Models)
            for (var s = 0; s < plan.Data.Shards.Count; s++)
                rows.AddRange(ImageRow.Read(plan.ShardPath(model, s), metrics));
        // Images the dataset could not read are in no shard; each counts as skipped for every model × method variant.
        var variants = rows.Select(r => (r.Model, r.Method, r.Layer)).Distinct().ToList();
        rows.AddRange(variants.SelectMany(v => plan.Data.Unreadable.Select(issue =>
            ImageRow.Unscored(v.Model, v.Method, v.Layer, issue.Id, -1, "data", $"{issue.File}: {issue.Reason}"))));
        var board = Leaderboard.Compute(rows, metrics, plan.Applicability);
        ImageRow.Write(plan.ImagesPath, metrics, rows);
        var comparisons = PairedComparisons.Compute(rows, metrics, plan.Spec.ReferenceMethod, plan.Spec.Seed);
        AtomicFile.WriteAllText(plan.ComparisonsPath, PairedComparisons.ToCsv(comparisons));
        AtomicFile.WriteAllText(plan.TableMarkdownPath, PaperTable.Markdown(board, metrics));
        AtomicFile.WriteAllText(plan.TableLatexPath, PaperTable.Latex(board, metrics));
        var plots = ReportPlots.WriteAll(plan.PlotsDirectory, board, metrics);
        ReportWriter.Write(ReportPath, plan, board, rows, comparisons, plots, context.Device, context.Model);
        var stats = GrainStats.ReadAll(plan.StatsDirectory).Where(s => s.Stage != "aggregate");
        AtomicFile.WriteAllText(ThroughputPath, CsvTable.ToText(GrainStats.CsvHeader, stats.Select(s => s.ToCsvRow())));
        // Last: a leaderboard newer than every shard means the whole aggregate finished (see IsUpToDate).
        AtomicFile.WriteAllText(LeaderboardPath, Leaderboard.ToCsv(board));
    }
}
