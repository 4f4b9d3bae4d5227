using System.Globalization;
using System.Net;
using System.Text;
using Harness.Attribution;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Experiments;
using Harness.Experiments.Statistics;
using Harness.Reports.Plots;
using Harness.Models;
using Harness.Reports;
using Harness.Torch;

namespace Harness.Reports;

/// <summary>
/// Writes results/EXPERIMENT/report.html: one self-contained page (no network, images inlined) with the leaderboard
/// per metric, a bar chart per metric (mean with 95% CI) and an images × methods heatmap grid per model, so a reader
/// sees what the numbers mean.
/// </summary>
public static class ReportWriter
{
    /// <param name="path">The report file to write.</param>
    /// <param name="plan">The experiment.</param>
    /// <param name="board">Its leaderboard.</param>
    /// <param name="rows">Its per-image rows.</param>
    /// <param name="comparisons">Every method against the reference method on the same images (comparisons.csv).</param>
    /// <param name="plots">The plots written under plots/ (<see cref="ReportPlots.WriteAll"/>), embedded as PNG.</param>
    /// <param name="device">Where the heat-map grid's maps are computed.</param>
    /// <param name="modelFor">The frozen model of a spec, loaded on <paramref name="device"/> (the caller owns it).</param>
    public static void Write(string path, ExperimentPlan plan, IReadOnlyList<LeaderboardRow> board, IReadOnlyList<ImageRow> rows,
        IReadOnlyList<PairedComparison> comparisons, IReadOnlyList<RenderedPlot> plots, Device device, Func<ModelSpec, ClassifierModel> modelFor)
    {
        var spec = plan.Spec;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>MipIn report: ").Append(E(spec.Name)).Append("</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}")
            .Append("th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child,td:nth-child(2){text-align:left}")
            .Append("h2{margin-top:1.5em}.note{color:#666;font-size:90%}</style></head>\n<body>\n");
        html.Append("<h1>").Append(E(spec.Name)).Append("</h1>\n<p class=\"note\">Spec ").Append(E(Path.GetFileName(spec.SourceFile)))
            .Append(" · dataset ").Append(E(spec.DatasetRoot)).Append(" · ").Append(plan.Data.Scored.Count).Append(" scored images in ")
            .Append(plan.Data.Shards.Count).Append(" shards");
        if (plan.Data.Training.Count > 0)
            html.Append(" · ").Append(E(plan.TrainableMethodNames)).Append(" trained on the first ")
                .Append(plan.Data.Training.Count).Append(" images");
        html.Append(" · seed ").Append(spec.Seed).Append("</p>\n");

        html.Append("<h2>Summary</h2>\n<p class=\"note\">Mean ± half-width of the 95% CI; arrows give each metric's better direction; the best of each column is bold (also in table.md and table.tex).</p>\n")
            .Append(PaperTable.Html(board, spec.Metrics));
        if (comparisons.Count > 0)
        {
            html.Append("<h2>Against ").Append(E(comparisons[0].Reference)).Append(" on the same images</h2>\n<p class=\"note\">Mean of the paired differences (method − reference) with a seeded bootstrap 95% CI, and the two-sided Wilcoxon signed-rank p-value; <b>bold</b>: the CI excludes 0. Also in comparisons.csv.</p>\n")
                .Append("<table class=\"comparisons\"><tr><th>model</th><th>metric</th><th>method</th><th>pairs</th><th>mean difference</th><th>95% CI</th><th>p</th></tr>\n");
            foreach (var c in comparisons)
            {
                var real = c.Ci95Low > 0 || c.Ci95High < 0;
                html.Append("<tr><td>").Append(E(c.Model)).Append("</td><td>").Append(E(c.Metric)).Append(' ').Append(PaperTable.Arrow(c.Better))
                    .Append("</td><td>").Append(E(c.Method)).Append("</td><td>").Append(c.Pairs).Append("</td><td>")
                    .Append(real ? "<b>" : "").Append(F(c.MeanDifference)).Append(real ? "</b>" : "").Append("</td><td>")
                    .Append(F(c.Ci95Low)).Append(" – ").Append(F(c.Ci95High)).Append("</td><td>")
                    .Append(c.PValue.ToString("G3", CultureInfo.InvariantCulture)).Append("</td></tr>\n");
            }
            html.Append("</table>\n");
        }

        var skippedImages = ImageRow.UnreadableImages(rows);
        if (skippedImages > 0) html.Append("<p><b>").Append(skippedImages).Append(" image(s) could not be read</b>; see images.csv (column skipped).</p>\n");
        var datasetIssues = plan.Data.Dataset.Issues;
        if (datasetIssues.Count > 0)
        {
            html.Append("<h2>Skipped while reading the dataset</h2>\n<p>").Append(datasetIssues.Count).Append(" image(s) were left out:</p><ul>\n");
            foreach (var issue in datasetIssues) html.Append("<li>").Append(E(issue.Id)).Append(": ").Append(E(issue.Reason)).Append(" (").Append(E(issue.File)).Append(")</li>\n");
            html.Append("</ul>\n");
        }

        var applicability = plan.Applicability;
        foreach (var metric in spec.Metrics)
        {
            var zeroMaps = applicability.CountsZeroMaps(metric);
            var lines = board.Where(b => b.Metric == metric).ToList();
            html.Append("<h2>").Append(E(metric)).Append("</h2>\n<table class=\"leaderboard\"><tr><th>model</th><th>method</th><th>layer</th><th>mean</th><th>95% CI</th><th>std</th><th>n</th><th>skipped</th>");
            if (zeroMaps) html.Append("<th>zero maps</th>");
            html.Append("</tr>\n");
            foreach (var l in lines)
            {
                html.Append("<tr><td>").Append(E(l.Model)).Append("</td><td>").Append(E(l.Method)).Append("</td><td>").Append(E(l.Layer))
                    .Append("</td><td>").Append(F(l.Mean)).Append("</td><td>").Append(F(l.Ci95Low)).Append(" – ").Append(F(l.Ci95High))
                    .Append("</td><td>").Append(F(l.Std)).Append("</td><td>").Append(l.N).Append("</td><td>").Append(l.Skipped).Append("</td>");
                if (zeroMaps) html.Append("<td>").Append(l.ZeroMaps).Append("</td>");
                html.Append("</tr>\n");
            }
            html.Append("</table>\n");
            foreach (var plot in plots.Where(p => Path.GetFileNameWithoutExtension(p.PngPath) == $"bar_{metric}")) html.Append(Image(plot));
        }

        var layerPlots = plots.Where(p => Path.GetFileName(p.PngPath).StartsWith("layers_", StringComparison.Ordinal)).ToList();
        if (layerPlots.Count > 0)
        {
            html.Append("<h2>Metrics against the layer</h2>\n<p class=\"note\">One line per method; methods without a layer are dashed baselines.</p>\n");
            foreach (var plot in layerPlots) html.Append(Image(plot));
        }
        var scatter = plots.Where(p => Path.GetFileName(p.PngPath).StartsWith("loc_vs_sens_", StringComparison.Ordinal)).ToList();
        if (scatter.Count > 0)
        {
            html.Append("<h2>Localisation against class sensitivity</h2>\n<p class=\"note\">One point per method variant: a good explanation is up and to the right.</p>\n");
            foreach (var plot in scatter) html.Append(Image(plot));
        }

        foreach (var model in spec.Models)
        {
            var grid = HeatmapGrid(plan, model, device, modelFor);
            if (grid is null) continue;
            html.Append("<h2>Maps: ").Append(E(model.Id)).Append("</h2>\n<p class=\"note\">Ground-truth class; first ").Append(spec.ReportImages)
                .Append(" scored images; each map scaled to its own maximum (inferno colormap).</p>\n<img class=\"grid\" alt=\"heatmap grid\" src=\"data:image/png;base64,")
                .Append(Convert.ToBase64String(ImageEncoder.EncodePng(grid))).Append("\">\n");
        }
        // Lets a headless browser (and a person) confirm every inline image decoded.
        html.Append("<script>window.addEventListener('load',function(){var i=document.images,n=0;for(var k=0;k<i.length;k++)if(i[k].complete&&i[k].naturalWidth>0)n++;")
            .Append("document.body.setAttribute('data-images-loaded',n+'/'+i.length);document.body.setAttribute('data-tables',document.querySelectorAll('table.leaderboard').length);document.body.setAttribute('data-plots',document.querySelectorAll('img.plot').length);});</script>\n");
        html.Append("</body></html>\n");
        AtomicFile.WriteAllText(path, html.ToString());
    }

    // A plot inlined as PNG; its SVG twin sits in plots/ for papers.
    private static string Image(RenderedPlot plot) =>
        $"<p><img class=\"plot\" alt=\"plot: {E(plot.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(plot.Png)}\"></p>\n";

    private static RgbImage? HeatmapGrid(ExperimentPlan plan, ModelSpec modelSpec, Device device, Func<ModelSpec, ClassifierModel> modelFor)
    {
        var spec = plan.Spec;
        var records = plan.Data.Scored.Take(spec.ReportImages).ToList();
        if (records.Count == 0) return null;
        using var scope = torch.NewDisposeScope();
        using var training = plan.TrainingFor(modelSpec, device, null);
        var model = modelFor(modelSpec);
        var methods = spec.Methods.Select(m => AttributionMethods.Create(m.Name, model, m.Options, training)).ToList();
        var batch = ImageBatchLoader.Load(records, modelSpec.Preprocess, device, new List<DataIssue>());
        if (batch.Records.Count == 0) return null;
        using var work = new AttributionBatch(model, batch.Images, batch.Records.Select(r => (long)r.ClassIndex).ToArray(), methods);
        var maps = methods.Select(m => m.Explain(work).cpu()).ToList();
        return MapGrid.Compose(batch.Images, modelSpec.Preprocess, batch.Records.Select(r => r.Id[^8..]).ToList(),
            spec.Methods.Select(m => m.Label).ToList(), maps);
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F3", CultureInfo.InvariantCulture);
}
