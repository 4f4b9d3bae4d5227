namespace Harness.Metrics;

/// <summary>
/// The outcome of one metric on one image: a score, or a skip with a machine-readable reason (skips are counted in
/// the leaderboard, never averaged). Exactly one of <see cref="Value"/> and <see cref="SkipReason"/> is set when
/// built through <see cref="Score"/> or <see cref="Skip"/>.
/// </summary>
/// <param name="Value">The score, or null when the image was skipped.</param>
/// <param name="SkipReason">Why the image was skipped (e.g. <see cref="BoxTooLarge"/>), or null when scored.</param>
public readonly record struct MetricResult(double? Value, string? SkipReason)
{
    /// <summary>The ground-truth boxes cover more than the allowed fraction of the input (docs/metrics-spec.md §1).</summary>
    public const string BoxTooLarge = "box_too_large";

    /// <summary>No ground-truth box pixel lies inside the model input after resize and crop (§1, §3).</summary>
    public const string NoBoxInCrop = "no_box_in_crop";

    /// <summary>The image has no ground-truth box at all, so a box metric has nothing to compare against.</summary>
    public const string NoBoxes = "no_boxes";

    /// <summary>The map holds NaN or an infinity, so no score would be meaningful.</summary>
    public const string NonFiniteMap = "non_finite_map";

    /// <summary>A scored result.</summary>
    public static MetricResult Score(double value) => new(value, null);

    /// <summary>A skipped result with <paramref name="reason"/>.</summary>
    public static MetricResult Skip(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(null, reason);
    }

    /// <summary>
    /// How many of the maps this result was computed from were all zero after taking the positive part (class
    /// sensitivity counts them: such a map carries no information about the class). Reported in the leaderboard's
    /// <c>zero_maps</c> column.
    /// </summary>
    public int ZeroMaps { get; init; }

    /// <summary>True when the image was skipped rather than scored.</summary>
    public bool IsSkipped => SkipReason is not null;

    public override string ToString() => SkipReason is { } r ? $"skipped ({r})" : $"{Value}";
}
