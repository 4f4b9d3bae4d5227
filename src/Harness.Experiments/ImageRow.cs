using System.Globalization;
using Harness.Data;

namespace Harness.Experiments;

/// <summary>
/// One per-image result row of a shard CSV (schema in docs/results.md): which model, method variant and layer, the
/// image and its class, one value per metric (empty when skipped) and the skip reasons ("metric:reason" joined
/// by '|'; "image:reason" when the image itself could not be used).
/// </summary>
public sealed record ImageRow(string Model, string Method, string Layer, string ImageId, int Class,
    IReadOnlyDictionary<string, double?> Values, string Skipped, int ZeroMaps)
{
    public static string[] Header(IReadOnlyList<string> metrics) =>
        new[] { "model", "method", "layer", "image_id", "class" }.Concat(metrics).Concat(new[] { "zero_maps", "skipped" }).ToArray();

    public static string Format(double value) => value.ToString("G9", CultureInfo.InvariantCulture);

    /// <summary>
    /// The row of an image no metric could score: every value empty, <c>skipped</c> = "<paramref name="kind"/>:reason"
    /// ("image" when decoding failed at scoring time, "data" when the dataset could not read its annotation), the
    /// reason with '|' and line breaks replaced so the cell stays one item.
    /// </summary>
    public static ImageRow Unscored(string model, string method, string layer, string imageId, int classIndex, string kind, string reason) =>
        new(model, method, layer, imageId, classIndex, new Dictionary<string, double?>(),
            $"{kind}:{reason.Replace('|', '/').Replace('\r', ' ').Replace('\n', ' ')}", 0);

    /// <summary>How many distinct images have rows marked "image:reason" (the file could not be read or decoded).</summary>
    public static int UnreadableImages(IEnumerable<ImageRow> rows) =>
        rows.Where(r => r.Skipped.StartsWith("image:", StringComparison.Ordinal)).Select(r => r.ImageId).Distinct().Count();

    public static void Write(string path, IReadOnlyList<string> metrics, IEnumerable<ImageRow> rows) =>
        CsvTable.Write(path, Header(metrics), rows.Select(row => (IReadOnlyList<string>)new[]
            {
                row.Model, row.Method, row.Layer, row.ImageId, row.Class.ToString(CultureInfo.InvariantCulture),
            }
            .Concat(metrics.Select(m => row.Values.TryGetValue(m, out var v) && v is { } value ? Format(value) : ""))
            .Concat(new[] { row.ZeroMaps.ToString(CultureInfo.InvariantCulture), row.Skipped })
            .ToArray()));

    public static List<ImageRow> Read(string path, IReadOnlyList<string> metrics)
    {
        var (header, table) = CsvTable.Read(path);
        var expected = Header(metrics);
        if (!header.SequenceEqual(expected))
            throw new InvalidDataException($"{path}: columns [{string.Join(",", header)}] do not match this experiment's [{string.Join(",", expected)}]; delete the shard file to recompute it");
        return table.Select(f =>
        {
            var values = new Dictionary<string, double?>(StringComparer.Ordinal);
            for (var m = 0; m < metrics.Count; m++)
                values[metrics[m]] = f[5 + m].Length == 0 ? null : double.Parse(f[5 + m], CultureInfo.InvariantCulture);
            return new ImageRow(f[0], f[1], f[2], f[3], int.Parse(f[4], CultureInfo.InvariantCulture), values, f[^1],
                int.Parse(f[^2], CultureInfo.InvariantCulture));
        }).ToList();
    }
}
