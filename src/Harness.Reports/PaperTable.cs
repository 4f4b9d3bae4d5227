using System.Globalization;
using System.Net;
using System.Text;
using Harness.Experiments;
using Harness.Metrics;

namespace Harness.Reports;

/// <summary>
/// The leaderboard as a paper prints it, one table per model: method variants as rows, metrics as columns, each cell
/// "mean ± half-width of the 95% CI", an arrow in each header for the metric's better direction (↑ higher, ↓ lower,
/// →0 closer to zero) and the best value of each column in bold. Written as table.md and table.tex next to the
/// leaderboard, and shown at the top of report.html.
/// </summary>
public static class PaperTable
{
    /// <summary>GitHub-flavoured Markdown.</summary>
    public static string Markdown(IReadOnlyList<LeaderboardRow> board, IReadOnlyList<string> metrics) =>
        Render(board, metrics, Format.Markdown);

    /// <summary>A LaTeX tabular per model (booktabs rules: needs \usepackage{booktabs}).</summary>
    public static string Latex(IReadOnlyList<LeaderboardRow> board, IReadOnlyList<string> metrics) =>
        Render(board, metrics, Format.Latex);

    /// <summary>HTML tables for the report.</summary>
    public static string Html(IReadOnlyList<LeaderboardRow> board, IReadOnlyList<string> metrics) =>
        Render(board, metrics, Format.Html);

    /// <summary>The arrow of a direction as text.</summary>
    public static string Arrow(BetterDirection better) => better switch
    {
        BetterDirection.Higher => "↑",
        BetterDirection.Lower => "↓",
        _ => "→0",
    };

    private enum Format { Markdown, Latex, Html }

    private static string Render(IReadOnlyList<LeaderboardRow> board, IReadOnlyList<string> metrics, Format format)
    {
        ArgumentNullException.ThrowIfNull(board);
        var text = new StringBuilder();
        foreach (var model in board.Select(b => b.Model).Distinct())
        {
            var ofModel = board.Where(b => b.Model == model).ToList();
            var columns = metrics.Where(m => ofModel.Any(b => b.Metric == m)).ToList();
            var methods = ofModel.Select(b => b.Method).Distinct().ToList();
            var best = columns.ToDictionary(m => m, m => Best(ofModel.Where(b => b.Metric == m && b.N > 0).ToList(), MetricRegistry.Better(m)));
            var header = columns.Select(m => $"{m} {Arrow(MetricRegistry.Better(m))}").ToList();
            var body = methods.Select(method => (method, cells: columns.Select(m =>
            {
                var line = ofModel.FirstOrDefault(b => b.Method == method && b.Metric == m);
                if (line is null || line.N == 0) return ("–", false);
                var cell = $"{line.Mean.ToString("F3", CultureInfo.InvariantCulture)} ± {((line.Ci95High - line.Ci95Low) / 2).ToString("F3", CultureInfo.InvariantCulture)}";
                return (cell, best[m] == line.Mean);
            }).ToList())).ToList();

            switch (format)
            {
                case Format.Markdown:
                    text.Append("### ").Append(model).Append("\n\n| method | ").Append(string.Join(" | ", header)).Append(" |\n|")
                        .Append(string.Concat(Enumerable.Repeat(" --- |", columns.Count + 1))).Append('\n');
                    foreach (var (method, cells) in body)
                        text.Append("| ").Append(method).Append(" | ").Append(string.Join(" | ", cells.Select(c => c.Item2 ? $"**{c.Item1}**" : c.Item1))).Append(" |\n");
                    text.Append('\n');
                    break;
                case Format.Latex:
                    text.Append("% ").Append(model).Append("\n\\begin{tabular}{l").Append(new string('r', columns.Count)).Append("}\n\\toprule\nmethod & ")
                        .Append(string.Join(" & ", columns.Select(m => $"{Tex(m)} {TexArrow(MetricRegistry.Better(m))}"))).Append(" \\\\\n\\midrule\n");
                    foreach (var (method, cells) in body)
                        text.Append(Tex(method)).Append(" & ").Append(string.Join(" & ", cells.Select(c =>
                            c.Item1 == "–" ? "--" : c.Item2 ? $"\\textbf{{{c.Item1.Replace("±", "$\\pm$")}}}" : c.Item1.Replace("±", "$\\pm$")))).Append(" \\\\\n");
                    text.Append("\\bottomrule\n\\end{tabular}\n\n");
                    break;
                default:
                    text.Append("<h3>").Append(WebUtility.HtmlEncode(model)).Append("</h3>\n<table class=\"paper\"><tr><th>method</th>")
                        .Append(string.Concat(header.Select(h => $"<th>{WebUtility.HtmlEncode(h)}</th>"))).Append("</tr>\n");
                    foreach (var (method, cells) in body)
                        text.Append("<tr><td>").Append(WebUtility.HtmlEncode(method)).Append("</td>")
                            .Append(string.Concat(cells.Select(c => c.Item2 ? $"<td><b>{WebUtility.HtmlEncode(c.Item1)}</b></td>" : $"<td>{WebUtility.HtmlEncode(c.Item1)}</td>")))
                            .Append("</tr>\n");
                    text.Append("</table>\n");
                    break;
            }
        }
        return text.ToString();
    }

    // The best mean of a column by the metric's direction; NaN when no row has a value (nothing is bold).
    private static double Best(IReadOnlyList<LeaderboardRow> lines, BetterDirection better) =>
        lines.Count == 0 ? double.NaN : better switch
        {
            BetterDirection.Higher => lines.Max(l => l.Mean),
            BetterDirection.Lower => lines.Min(l => l.Mean),
            _ => lines.MinBy(l => Math.Abs(l.Mean))!.Mean,
        };

    private static string Tex(string s) => s.Replace("\\", "\\textbackslash{}").Replace("_", "\\_").Replace("&", "\\&").Replace("%", "\\%").Replace("#", "\\#");

    private static string TexArrow(BetterDirection better) => better switch
    {
        BetterDirection.Higher => "$\\uparrow$",
        BetterDirection.Lower => "$\\downarrow$",
        _ => "$\\rightarrow 0$",
    };
}
