using Harness.Data.Imaging;

namespace Harness.Metrics;

/// <summary>
/// One saliency map with its image's geometry and ground truth, as the localization metrics read it
/// (docs/metrics-spec.md). What several metrics share is computed on first use and cached here, so scoring one map
/// with all metrics does it once: the positive part m = max(map, 0) with its maximum, first argmax and sum, the
/// boxes in the input frame, and the box mask.
/// <para>The cached values are pure functions of the four components, so concurrent first uses may compute them
/// twice but always see equal results. A <c>with</c> copy starts with empty caches, and equality compares only the
/// four components (the map and box list by reference).</para>
/// </summary>
/// <param name="Map">The saliency map, <paramref name="Size"/> × <paramref name="Size"/> row-major (element
/// i·Size + j is row i, column j) in the input frame. Not copied: do not change it while the input is in use.</param>
/// <param name="Size">The crop size C; must equal <see cref="ImageTransform.OutputSize"/> of
/// <paramref name="Transform"/>.</param>
/// <param name="Transform">The resize and crop that made the model input from the original image.</param>
/// <param name="Boxes">Ground-truth boxes in the original frame (continuous coordinates, see
/// <see cref="BoundingBox.FromInclusivePixels"/>).</param>
public sealed record LocalizationInput(float[] Map, int Size, ImageTransform Transform, IReadOnlyList<BoundingBox> Boxes)
{
    // Checked here for an early error, and again before the caches are built (a `with` copy skips this initializer).
    public IReadOnlyList<BoundingBox> Boxes { get; init; } = Validate(Map, Size, Transform, Boxes);

    private MapStats? _stats;
    private IReadOnlyList<BoundingBox>? _transformedBoxes;
    private BoxMaskData? _mask;

    // A `with` copy gets the components, not the caches, which belong to the original's components.
    private LocalizationInput(LocalizationInput original)
    {
        Map = original.Map;
        Size = original.Size;
        Transform = original.Transform;
        Boxes = original.Boxes;
    }

    /// <summary>The positive part m = max(map, 0) as doubles (exact copies of the floats); NaN counts as 0 here and
    /// sets <see cref="HasNonFinite"/>.</summary>
    public ReadOnlySpan<double> Positive => Stats.Positive;

    /// <summary>True when the map holds NaN or ±∞; metrics then skip with <see cref="MetricResult.NonFiniteMap"/>.</summary>
    public bool HasNonFinite => Stats.HasNonFinite;

    /// <summary>max(m) (0 for a map with no positive value).</summary>
    public double Max => Stats.Max;

    /// <summary>Flat index of the first (row-major) pixel where m = <see cref="Max"/>; 0 when <see cref="Max"/> is 0.</summary>
    public int ArgMax => Stats.ArgMax;

    /// <summary>Σ m, summed in row-major order in doubles.</summary>
    public double Sum => Stats.Sum;

    /// <summary>
    /// The boxes that keep some area in the input frame after <see cref="ImageTransform.ApplyToBox"/> (scaled,
    /// shifted by the crop offsets, clipped to [0, C]), in annotation order.
    /// </summary>
    public IReadOnlyList<BoundingBox> TransformedBoxes => _transformedBoxes ??= BuildTransformedBoxes();

    /// <summary>
    /// The box mask, C × C row-major: pixel (i, j) is inside iff its centre (j + 0.5, i + 0.5) lies in at least one
    /// of <see cref="TransformedBoxes"/> (left/top edges inclusive, right/bottom exclusive) — the same pixels as
    /// <see cref="ImageTransform.BoxMask"/>.
    /// </summary>
    public ReadOnlySpan<bool> BoxMask => Mask.Inside;

    /// <summary>Number of pixels inside <see cref="BoxMask"/> (n in docs/metrics-spec.md §1).</summary>
    public int BoxMaskCount => Mask.Count;

    public bool Equals(LocalizationInput? other) =>
        other is not null && ReferenceEquals(Map, other.Map) && Size == other.Size &&
        ReferenceEquals(Transform, other.Transform) && ReferenceEquals(Boxes, other.Boxes);

    public override int GetHashCode() => HashCode.Combine(Map, Size, Transform, Boxes);

    private MapStats Stats => _stats ??= BuildStats();

    private BoxMaskData Mask => _mask ??= BuildMask();

    private static IReadOnlyList<BoundingBox> Validate(float[]? map, int size, ImageTransform? transform, IReadOnlyList<BoundingBox>? boxes)
    {
        if (map is null) throw new ArgumentNullException(nameof(Map), "the saliency map is missing");
        if (transform is null) throw new ArgumentNullException(nameof(Transform), "the image transform is missing");
        if (boxes is null) throw new ArgumentNullException(nameof(Boxes), "the box list is missing (give an empty list for none)");
        if (size <= 0) throw new ArgumentException($"map size must be positive, not {size}", nameof(Size));
        if (size != transform.OutputSize)
            throw new ArgumentException($"map size {size} does not match the transform's crop size {transform.OutputSize}", nameof(Size));
        if (map.Length != (long)size * size)
            throw new ArgumentException($"the map has {map.Length} values, but a {size}x{size} map needs {(long)size * size}", nameof(Map));
        return boxes;
    }

    private MapStats BuildStats()
    {
        Validate(Map, Size, Transform, Boxes);
        var positive = new double[Map.Length];
        var (max, argMax, sum, nonFinite) = (0.0, 0, 0.0, false);
        for (var k = 0; k < Map.Length; k++)
        {
            var v = (double)Map[k];
            if (!double.IsFinite(v))
            {
                nonFinite = true;
                continue; // NaN and ±∞ stay 0 in the positive part
            }
            if (v <= 0) continue; // also maps −0 to +0
            positive[k] = v;
            sum += v;
            if (v > max) (max, argMax) = (v, k); // strict: the first pixel in row-major order wins ties
        }
        return new MapStats(positive, max, argMax, sum, nonFinite);
    }

    private IReadOnlyList<BoundingBox> BuildTransformedBoxes()
    {
        Validate(Map, Size, Transform, Boxes);
        var list = new List<BoundingBox>(Boxes.Count);
        foreach (var box in Boxes)
            if (Transform.ApplyToBox(box) is { } b) list.Add(b);
        return list.AsReadOnly();
    }

    private BoxMaskData BuildMask()
    {
        var c = Size;
        var inside = new bool[c * c];
        foreach (var b in TransformedBoxes)
        {
            // j + 0.5 ∈ [XMin, XMax)  ⇔  ceil(XMin − 0.5) ≤ j < ceil(XMax − 0.5), as in ImageTransform.BoxMask.
            var (j0, j1) = (Math.Max(0, (int)Math.Ceiling(b.XMin - 0.5)), Math.Min(c, (int)Math.Ceiling(b.XMax - 0.5)));
            var (i0, i1) = (Math.Max(0, (int)Math.Ceiling(b.YMin - 0.5)), Math.Min(c, (int)Math.Ceiling(b.YMax - 0.5)));
            if (j1 <= j0) continue;
            for (var i = i0; i < i1; i++) inside.AsSpan(i * c + j0, j1 - j0).Fill(true);
        }
        var count = 0;
        foreach (var v in inside)
            if (v) count++;
        return new BoxMaskData(inside, count);
    }

    private sealed record MapStats(double[] Positive, double Max, int ArgMax, double Sum, bool HasNonFinite);

    private sealed record BoxMaskData(bool[] Inside, int Count);
}
