using System.Globalization;
using System.Text;

namespace Harness.Bench;

/// <summary>The short, fixed-width table `mipin bench` prints (and writes to bench.txt), with the notes as footnotes.</summary>
public static class BenchTable
{
    private static readonly string[] Columns =
        { "model", "method", "batch", "device", "mipin img/s", "pytorch tuned img/s", "ratio", "untuned img/s", "ratio untuned", "mipin peak MB", "pytorch peak MB" };

    public static string Format(IReadOnlyList<BenchRow> rows, IEnumerable<string>? header = null)
    {
        var cells = rows.Select(r => new[]
        {
            r.Cell.Model, r.Cell.Method, r.Cell.BatchSize.ToString(CultureInfo.InvariantCulture), r.Cell.Device.ToString(),
            Rate(r.MipIn?.ImagesPerSecond), Rate(r.PyTorch?.ImagesPerSecond),
            Ratio(r.Ratio), Rate(r.PyTorchUntuned?.ImagesPerSecond), Ratio(r.RatioUntuned),
            r.MipIn?.PeakRssBytes is { } a ? BenchCsv.Mb(a).Split('.')[0] : "-",
            r.PyTorch?.PeakRssBytes is { } b ? BenchCsv.Mb(b).Split('.')[0] : "-",
        }).ToList();
        var widths = Columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        foreach (var line in header ?? Array.Empty<string>()) text.Append(line).Append('\n');
        void Row(IReadOnlyList<string> values)
        {
            for (var i = 0; i < values.Count; i++)
            {
                var right = i >= 2 && i != 3; // numbers right-aligned
                text.Append(right ? values[i].PadLeft(widths[i]) : values[i].PadRight(widths[i]));
                text.Append(i + 1 < values.Count ? "  " : "\n");
            }
        }
        Row(Columns);
        Row(widths.Select(w => new string('-', w)).ToArray());
        foreach (var c in cells) Row(c);
        var notes = rows.Where(r => r.Note.Length > 0).ToList();
        if (notes.Count > 0)
        {
            text.Append('\n');
            foreach (var r in notes) text.Append($"note: {r.Cell}: {r.Note}\n");
        }
        return text.ToString();
    }

    internal static string Ratio(double? v) => v is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-";

    internal static string Rate(double? v) => v switch
    {
        null => "-",
        >= 100 => v.Value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => v.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => v.Value.ToString("0.00", CultureInfo.InvariantCulture),
    };
}
