namespace Harness.Metrics;

/// <summary>
/// <c>energy_pointing_game</c> (docs/metrics-spec.md §3; Wang et al., "Score-CAM: Score-Weighted Visual Explanations
/// for Convolutional Neural Networks", CVPR Workshops 2020). With m = max(map, 0):
/// <code>score = Σ_{mask} m / Σ_{all} m</code>
/// 0 when Σ m = 0; skipped with <see cref="MetricResult.NoBoxInCrop"/> when the box mask is empty. Both sums run
/// in row-major order in doubles.
/// </summary>
public sealed class EnergyPointingGame : ILocalizationMetric
{
    public const string MetricName = "energy_pointing_game";

    public string Name => MetricName;

    public MetricResult Compute(LocalizationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.HasNonFinite) return MetricResult.Skip(MetricResult.NonFiniteMap);
        if (input.BoxMaskCount == 0) return MetricResult.Skip(MetricResult.NoBoxInCrop);
        var total = input.Sum;
        if (total <= 0) return MetricResult.Score(0);
        var m = input.Positive;
        var mask = input.BoxMask;
        var inside = 0.0;
        for (var k = 0; k < m.Length; k++)
            if (mask[k]) inside += m[k];
        return MetricResult.Score(inside / total);
    }
}
