using System.Buffers;
using Harness.Data.Imaging;

namespace Harness.Metrics;

/// <summary>
/// <c>localization_accuracy</c> (docs/metrics-spec.md §4; the ILSVRC localization protocol as used for CAM by Zhou et
/// al., "Learning Deep Features for Discriminative Localization", CVPR 2016). With m = max(map, 0):
/// <list type="number">
/// <item>B = m ≥ <see cref="Threshold"/>·max(m); a map with max(m) ≤ 0 scores 0.</item>
/// <item>The largest 8-connected component of B (on equal sizes, the one whose first pixel comes first in row-major
/// order), found with an iterative flood fill.</item>
/// <item>Its bounding box in the input frame, continuous: [minCol, maxCol + 1) × [minRow, maxRow + 1).</item>
/// <item>score = 1 iff IoU(that box, g) ≥ <see cref="IoUThreshold"/> for at least one ground-truth box g in the input
/// frame (<see cref="LocalizationInput.TransformedBoxes"/>, clipped to the crop); else 0. Boxes with nothing inside
/// the crop cannot be hit, so an image whose boxes all fall outside scores 0; one without any box is skipped with
/// <see cref="MetricResult.NoBoxes"/>.</item>
/// </list>
/// IoU = area(A ∩ G) / (area(A) + area(G) − area(A ∩ G)) in doubles.
/// </summary>
public sealed class LocalizationAccuracy : ILocalizationMetric
{
    public const string MetricName = "localization_accuracy";

    /// <param name="threshold">Fraction of max(m) a pixel needs to be foreground, in [0, 1].</param>
    /// <param name="iou">IoU needed for a hit, in (0, 1].</param>
    public LocalizationAccuracy(double threshold = 0.15, double iou = 0.5)
    {
        if (!(threshold >= 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "must be in [0, 1]");
        if (!(iou > 0 && iou <= 1))
            throw new ArgumentOutOfRangeException(nameof(iou), iou, "must be in (0, 1]");
        Threshold = threshold;
        IoUThreshold = iou;
    }

    public string Name => MetricName;

    /// <summary>Foreground threshold as a fraction of max(m) (0.15 in the spec; CAM used 0.2).</summary>
    public double Threshold { get; }

    /// <summary>The IoU at or above which the component's box localizes the object (0.5, ILSVRC).</summary>
    public double IoUThreshold { get; }

    public MetricResult Compute(LocalizationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.HasNonFinite) return MetricResult.Skip(MetricResult.NonFiniteMap);
        if (input.Boxes.Count == 0) return MetricResult.Skip(MetricResult.NoBoxes);
        if (input.Max <= 0) return MetricResult.Score(0);

        var box = LargestComponentBox(input.Positive, input.Size, Threshold * input.Max);
        foreach (var g in input.TransformedBoxes)
            if (IoU(box, g) >= IoUThreshold) return MetricResult.Score(1);
        return MetricResult.Score(0);
    }

    /// <summary>
    /// The continuous bounding box of the largest 8-connected component of {m ≥ <paramref name="cutoff"/>} on a
    /// <paramref name="size"/> × <paramref name="size"/> row-major map (ties: the component found first by a
    /// row-major scan); an empty box when no pixel passes.
    /// </summary>
    public static BoundingBox LargestComponentBox(ReadOnlySpan<double> m, int size, double cutoff)
    {
        // Scratch from the pool (a map is 50,176 pixels; this runs per image and method): each pixel is marked
        // visited before it is pushed, so the stack never holds more than every pixel once.
        var visited = ArrayPool<bool>.Shared.Rent(m.Length);
        var stack = ArrayPool<int>.Shared.Rent(m.Length);
        try
        {
            Array.Clear(visited, 0, m.Length);
            var bestCount = 0;
            var best = default(BoundingBox);
            for (var start = 0; start < m.Length; start++)
            {
                if (visited[start] || !(m[start] >= cutoff)) continue;
                visited[start] = true;
                var depth = 0;
                stack[depth++] = start;
                var (count, minRow, maxRow, minCol, maxCol) = (0, int.MaxValue, -1, int.MaxValue, -1);
                while (depth > 0)
                {
                    var p = stack[--depth];
                    var (r, c) = Math.DivRem(p, size);
                    count++;
                    (minRow, maxRow) = (Math.Min(minRow, r), Math.Max(maxRow, r));
                    (minCol, maxCol) = (Math.Min(minCol, c), Math.Max(maxCol, c));
                    for (var dr = -1; dr <= 1; dr++)
                    for (var dc = -1; dc <= 1; dc++)
                    {
                        var (nr, nc) = (r + dr, c + dc);
                        if ((dr == 0 && dc == 0) || nr < 0 || nr >= size || nc < 0 || nc >= size) continue;
                        var q = nr * size + nc;
                        if (visited[q] || !(m[q] >= cutoff)) continue;
                        visited[q] = true;
                        stack[depth++] = q;
                    }
                }
                if (count > bestCount) // strict: the earlier component keeps a tie
                    (bestCount, best) = (count, new BoundingBox(minCol, minRow, maxCol + 1, maxRow + 1));
            }
            return best;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(stack);
            ArrayPool<bool>.Shared.Return(visited);
        }
    }

    /// <summary>Intersection over union of two continuous boxes (0 when both are empty).</summary>
    public static double IoU(BoundingBox a, BoundingBox b)
    {
        var w = Math.Min(a.XMax, b.XMax) - Math.Max(a.XMin, b.XMin);
        var h = Math.Min(a.YMax, b.YMax) - Math.Max(a.YMin, b.YMin);
        var inter = w > 0 && h > 0 ? w * h : 0;
        var union = a.Area + b.Area - inter;
        return union > 0 ? inter / union : 0;
    }
}
