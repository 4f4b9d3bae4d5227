using System.Buffers;

namespace Harness.Metrics;

/// <summary>
/// <c>bbox_accuracy</c> (docs/metrics-spec.md §1; the IBA protocol of Schulz et al., "Restricting the Flow:
/// Information Bottlenecks for Attribution", ICLR 2020). With m = max(map, 0) and n = the number of box-mask pixels:
/// <code>score = |{ the n pixels with the largest m } ∩ mask| / n</code>
/// Ties are broken by a stable sort on descending m, i.e. among equal values the pixel earlier in row-major order is
/// taken first. Skipped with <see cref="MetricResult.BoxTooLarge"/> when n &gt; <see cref="MaxBoxFraction"/>·C² and
/// with <see cref="MetricResult.NoBoxInCrop"/> when n = 0.
/// </summary>
public sealed class BoundingBoxAccuracy : ILocalizationMetric
{
    public const string MetricName = "bbox_accuracy";

    /// <param name="maxBoxFraction">Largest allowed share of the C² input pixels covered by the mask, in (0, 1].</param>
    public BoundingBoxAccuracy(double maxBoxFraction = 0.33)
    {
        if (!(maxBoxFraction > 0 && maxBoxFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(maxBoxFraction), maxBoxFraction, "must be in (0, 1]");
        MaxBoxFraction = maxBoxFraction;
    }

    public string Name => MetricName;

    /// <summary>Images whose mask covers more than this share of the input are skipped (0.33 in the IBA paper).</summary>
    public double MaxBoxFraction { get; }

    public MetricResult Compute(LocalizationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.HasNonFinite) return MetricResult.Skip(MetricResult.NonFiniteMap);
        var n = input.BoxMaskCount;
        var c = (double)input.Size;
        if (n > MaxBoxFraction * c * c) return MetricResult.Skip(MetricResult.BoxTooLarge);
        if (n == 0) return MetricResult.Skip(MetricResult.NoBoxInCrop);

        var m = input.Positive;
        var mask = input.BoxMask;
        // The n-th largest value v: every pixel with m > v is among the top n, and the remaining k = n − |{m > v}|
        // places go to the first k pixels (row-major) with m = v — the same set a stable descending sort gives.
        // The quickselect reorders its input: a pooled copy, not a new 400 KB array per map.
        var scratch = ArrayPool<double>.Shared.Rent(m.Length);
        double v;
        try
        {
            m.CopyTo(scratch);
            v = Ranking.KthSmallest(scratch.AsSpan(0, m.Length), m.Length - n);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
        }
        var greater = 0;
        foreach (var x in m)
            if (x > v) greater++;
        var tiesLeft = n - greater;
        var hits = 0;
        for (var k = 0; k < m.Length; k++)
        {
            if (m[k] > v)
            {
                if (mask[k]) hits++;
            }
            else if (m[k] == v && tiesLeft > 0)
            {
                tiesLeft--;
                if (mask[k]) hits++;
            }
        }
        return MetricResult.Score((double)hits / n);
    }
}
