using System.Globalization;
using System.Text;
using Harness.Data;

namespace Harness.Bench;

/// <summary>
/// The output of <c>mipin bench --pipeline</c>: the printed stage table (also pipeline.txt) and pipeline.csv, one row
/// per stage, bound pass and total (columns kind, name, seconds, calls, share, images_per_s; docs/bench.md).
/// </summary>
public static class PipelineReport
{
    public static string Format(PipelineBench.Result r, IEnumerable<string>? header = null)
    {
        var text = new StringBuilder();
        foreach (var line in header ?? Array.Empty<string>()) text.Append(line).Append('\n');
        text.Append(Invariant($"pipeline     {r.Experiment}, {r.Model}, shard {r.Shard}: {r.Images} images in {r.Batches} batch(es), {r.Device}, {r.Threads} threads, median of {r.Runs} runs\n"));
        if (r.Unscored > 0) text.Append(Invariant($"note         {r.Unscored} image(s) could not be scored (their rows say why); they still count as images\n"));
        text.Append('\n');
        var width = Math.Max(40, r.Stages.Concat(r.Bound.Select(p => (Stage: $"{p.Count} × {p.Name}", 0.0, 0))).Max(s => s.Stage.Length) + 2);
        text.Append("stage".PadRight(width)).Append("   seconds   share   calls\n");
        foreach (var (stage, seconds, calls) in r.Stages)
            text.Append(stage.PadRight(width)).Append(Invariant($"{seconds,10:0.000}{seconds / r.EndToEndSeconds * 100,7:0.0}%{calls,8}\n"));
        // Decoding on the prefetch thread overlaps the other stages; the rest run one after another on the scoring thread.
        var unaccounted = r.EndToEndSeconds - r.Stages.Where(s => s.Stage != Experiments.ShardScorer.StageNames.Decode).Sum(s => s.Seconds);
        text.Append("(between stages)".PadRight(width)).Append(Invariant($"{unaccounted,10:0.000}{unaccounted / r.EndToEndSeconds * 100,7:0.0}%\n"));
        text.Append("end to end".PadRight(width)).Append(Invariant($"{r.EndToEndSeconds,10:0.000}  {r.ImagesPerSecond:0.00} images/s\n\n"));
        text.Append("compute bound (each pass timed alone)".PadRight(width)).Append("   seconds   (median over the timed runs, each timed right after one)\n");
        foreach (var p in r.Bound)
            text.Append($"{p.Count} × {p.Name}".PadRight(width)).Append(Invariant($"{p.TotalSeconds,10:0.000}   ({p.Seconds:0.000} s each)\n"));
        text.Append("bound".PadRight(width)).Append(Invariant($"{r.BoundSeconds,10:0.000}  {r.BoundImagesPerSecond:0.00} images/s\n\n"));
        text.Append(Invariant($"efficiency   {r.Efficiency * 100:0.0}% of the compute bound (bound seconds / end-to-end seconds, the median of the runs'; each run against the bound timed right after it)\n"));
        if (r.RunEfficiencies.Count > 1)
            text.Append(Invariant($"             per run {string.Join(" / ", r.RunEfficiencies.Select(e => (e * 100).ToString("0.0", CultureInfo.InvariantCulture)))}%\n"));
        text.Append(r.PeakRssBytes is { } peak
            ? Invariant($"peak RSS     {BenchCsv.Mb(peak)} MB ({(r.PeakIsSinceStart ? "since the process started, up to the first bound measurement" : "the highest run's own, model, trained state and runtime included: before each run the heap's freed memory is handed back and the peak reset, as a silo does before each grain; the runs before the first bound measurement")})\n")
              + Invariant($"             {(r.PeakIsSinceStart ? "after each run" : "per run")} {string.Join(" / ", r.RunPeakRssBytes.Take(r.GrainLikeRuns).Select(b => BenchCsv.Mb(b)))} MB (warm-ups first)")
              + (r.RunPeakRssBytes.Count > r.GrainLikeRuns
                  ? Invariant($"; after a bound measurement, not counted: {string.Join(" / ", r.RunPeakRssBytes.Skip(r.GrainLikeRuns).Select(b => BenchCsv.Mb(b)))} MB")
                  : "") + "\n"
            : "peak RSS     unknown on this system\n");
        return text.ToString();
    }

    public static IReadOnlyList<string> Header { get; } = new[] { "kind", "name", "seconds", "calls", "share", "images_per_s" };

    public static void WriteCsv(string path, PipelineBench.Result r)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (stage, seconds, calls) in r.Stages) rows.Add(new[] { "stage", stage, N(seconds), calls.ToString(CultureInfo.InvariantCulture), N(seconds / r.EndToEndSeconds), "" });
        foreach (var p in r.Bound) rows.Add(new[] { "bound_pass", p.Name, N(p.TotalSeconds), p.Count.ToString(CultureInfo.InvariantCulture), N(p.TotalSeconds / r.BoundSeconds), "" });
        rows.Add(new[] { "total", "end_to_end", N(r.EndToEndSeconds), "1", "1", N(r.ImagesPerSecond) });
        rows.Add(new[] { "total", "compute_bound", N(r.BoundSeconds), "1", N(r.Efficiency), N(r.BoundImagesPerSecond) });
        rows.Add(new[] { "total", "peak_rss_mb", r.PeakRssBytes is { } b ? BenchCsv.Mb(b) : "", "", "", "" });
        CsvTable.Write(path, Header, rows);
    }

    private static string N(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
