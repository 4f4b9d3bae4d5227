using Harness.Data.Imaging;

namespace Harness.Metrics;

/// <summary>
/// <c>pointing_game</c> (docs/metrics-spec.md §2; Zhang et al., "Top-down Neural Attention by Excitation Backprop",
/// ECCV 2016, with their 15-pixel tolerance at the original image size). The argmax pixel (i, j) of m = max(map, 0)
/// (first in row-major order on ties) is mapped to the original frame by its centre:
/// <code>x = (j + 0.5 + cropLeft)·origW/resizedW,   y = (i + 0.5 + cropTop)·origH/resizedH</code>
/// score = 1 iff min over boxes of dist((x, y), box) ≤ <see cref="ToleranceOriginalPixels"/>, where the distance to a
/// continuous box is Euclidean and 0 inside it; else 0. A map with max(m) ≤ 0 points nowhere and scores 0.
/// Boxes are used unclipped in the original frame, so a box outside the crop can still be hit within the tolerance.
/// Skipped with <see cref="MetricResult.NoBoxes"/> when the image has no box at all.
/// </summary>
public sealed class PointingGame : ILocalizationMetric
{
    public const string MetricName = "pointing_game";

    /// <param name="toleranceOriginalPixels">Hit radius in original-image pixels, ≥ 0.</param>
    public PointingGame(double toleranceOriginalPixels = 15)
    {
        if (!(toleranceOriginalPixels >= 0 && double.IsFinite(toleranceOriginalPixels)))
            throw new ArgumentOutOfRangeException(nameof(toleranceOriginalPixels), toleranceOriginalPixels, "must be a finite number ≥ 0");
        ToleranceOriginalPixels = toleranceOriginalPixels;
    }

    public string Name => MetricName;

    /// <summary>Largest distance (original-frame pixels) from the pointed location to a box that still counts as a hit.</summary>
    public double ToleranceOriginalPixels { get; }

    public MetricResult Compute(LocalizationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.HasNonFinite) return MetricResult.Skip(MetricResult.NonFiniteMap);
        if (input.Boxes.Count == 0) return MetricResult.Skip(MetricResult.NoBoxes);
        if (input.Max <= 0) return MetricResult.Score(0);

        var (x, y) = PointedLocation(input);
        foreach (var box in input.Boxes)
            if (Distance(x, y, box) <= ToleranceOriginalPixels) return MetricResult.Score(1);
        return MetricResult.Score(0);
    }

    /// <summary>The centre of the argmax pixel in original-frame coordinates.</summary>
    public static (double X, double Y) PointedLocation(LocalizationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var t = input.Transform;
        var (i, j) = Math.DivRem(input.ArgMax, input.Size);
        var x = (j + 0.5 + t.CropLeft) * t.SourceWidth / t.ResizedWidth;
        var y = (i + 0.5 + t.CropTop) * t.SourceHeight / t.ResizedHeight;
        return (x, y);
    }

    /// <summary>Euclidean distance from (x, y) to the box (0 inside or on its edge).</summary>
    public static double Distance(double x, double y, BoundingBox box)
    {
        var dx = Math.Max(Math.Max(box.XMin - x, x - box.XMax), 0);
        var dy = Math.Max(Math.Max(box.YMin - y, y - box.YMax), 0);
        return Math.Sqrt(dx * dx + dy * dy);
    }
}
