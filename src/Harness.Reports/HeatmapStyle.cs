namespace Harness.Reports;

/// <summary>Which part of a map's sign a heat map shows (captum's <c>visualize_image_attr</c> "sign").</summary>
public enum MapSign
{
    /// <summary><see cref="Signed"/> when the map has a negative value, otherwise <see cref="Absolute"/>.</summary>
    Auto,

    /// <summary>|map| on the sequential inferno colormap: where the evidence is, whatever its sign.</summary>
    Absolute,

    /// <summary>max(map, 0) on inferno: evidence for the class only (what the localisation metrics score).</summary>
    Positive,

    /// <summary>The map on a diverging blue–white–red colormap: evidence against (blue) and for (red) the class.</summary>
    Signed,
}

/// <summary>
/// How a saliency map becomes colours. Each map is scaled by its own clipping threshold t, the
/// <see cref="ClipPercentile"/>th percentile of its |values| (or of its positive part), and values above t saturate.
/// Without clipping, a few extreme pixels of a gradient-like map take the whole colour range and the rest is invisible.
/// captum's <c>visualize_image_attr</c> clips the same way but puts t where the cumulative attribution mass reaches
/// the percentile, which on sparse gradient maps saturates only a handful of pixels and leaves the map hard to see;
/// the value percentile saturates the top 1% of pixels. 100 scales by the maximum (smooth CAM maps look the same).
/// </summary>
/// <param name="Sign">Which sign to show.</param>
/// <param name="ClipPercentile">The percentile of the map's magnitudes at which colours saturate, in (0, 100].</param>
public sealed record HeatmapStyle(MapSign Sign = MapSign.Auto, double ClipPercentile = 99)
{
    /// <summary>The default: sign chosen per map, clipped at the 99th percentile.</summary>
    public static HeatmapStyle Default { get; } = new();

    /// <summary>Names as the CLI accepts them.</summary>
    public static readonly IReadOnlyList<(string Name, MapSign Value)> SignChoices =
        [("auto", MapSign.Auto), ("absolute", MapSign.Absolute), ("positive", MapSign.Positive), ("signed", MapSign.Signed)];
}
