using Harness.Metrics;
using static Harness.Tests.Metrics.MetricMaps;

namespace Harness.Tests.Metrics;

/// <summary>
/// bbox_accuracy on 10 × 10 maps. Unless stated, the transform is the identity and the box is [2, 5) × [2, 5):
/// rows 2–4, columns 2–4, n = 9 pixels (flat indices 22–24, 32–34, 42–44). C² = 100, so n may be at most 33.
/// </summary>
public sealed class BoundingBoxAccuracyTests
{
    private static readonly BoundingBoxAccuracy Metric = new();
    private static readonly Harness.Data.Imaging.BoundingBox Center = Box(2, 2, 5, 5);

    private static MetricResult Run(float[] map, params Harness.Data.Imaging.BoundingBox[] boxes) =>
        Metric.Compute(Input(map, Identity(), boxes));

    [Fact]
    public void MapPeakedInsideTheBoxScoresOne()
    {
        // The 9 box pixels are the only positive ones: top 9 = the box → 9/9.
        var map = Map(10).Fill(10, 2, 5, 2, 5, 1f);
        Assert.Equal(1.0, Scored(Run(map, Center)));
    }

    [Fact]
    public void MapPeakedOutsideTheBoxScoresZero()
    {
        // Top 9 = row 9, columns 0–8, none in the box → 0/9.
        var map = Map(10).Fill(10, 9, 10, 0, 9, 1f);
        Assert.Equal(0.0, Scored(Run(map, Center)));
    }

    [Fact]
    public void PartlyInsideCountsTheShare()
    {
        // 5 box pixels at 2 (row 2, columns 2–4; row 3, columns 2–3), 4 outside at 1, the rest 0:
        // top 9 = those 5 + 4 → 5/9.
        var map = Map(10, 0, (2, 2, 2), (2, 3, 2), (2, 4, 2), (3, 2, 2), (3, 3, 2), (0, 0, 1), (0, 1, 1), (9, 8, 1), (9, 9, 1));
        Assert.Equal(5.0 / 9, Scored(Run(map, Center)), 15);
    }

    [Fact]
    public void TiesStraddlingTheBorderAreTakenInRowMajorOrder()
    {
        // Value 2 at the 4 box pixels (3,3) (3,4) (4,3) (4,4): all in the top 9, 4 hits.
        // Value 1 at 7 pixels, in row-major order: idx 0 (0,0) out, 19 (1,9) out, 20 (2,0) out, 22 (2,2) in,
        // 23 (2,3) in | 24 (2,4) in, 55 (5,5) out. The 5 remaining places go to the first five → 2 more hits.
        // Score (4 + 2)/9 = 2/3 (inside-first tie breaking would give 7/9, outside-first 5/9).
        var map = Map(10, 0,
            (3, 3, 2), (3, 4, 2), (4, 3, 2), (4, 4, 2),
            (5, 5, 1), (2, 4, 1), (2, 3, 1), (2, 2, 1), (2, 0, 1), (1, 9, 1), (0, 0, 1));
        Assert.Equal(6.0 / 9, Scored(Run(map, Center)), 15);
    }

    [Fact]
    public void AllZeroMapTakesTheFirstPixels()
    {
        // All 100 values tie: the top 9 are indices 0–8 (row 0). Box [0,3)×[0,3) holds indices 0,1,2,10,11,12,20,21,22:
        // hits 0, 1, 2 → 3/9.
        Assert.Equal(1.0 / 3, Scored(Run(Map(10), Box(0, 0, 3, 3))), 15);
    }

    [Fact]
    public void OnlyThePositivePartCounts()
    {
        // Box pixels −1, the rest −3: the raw values would put the box on top (score 1), but max(map, 0) is all 0,
        // so the top 9 are row 0 → 0/9.
        var map = Map(10, -3f).Fill(10, 2, 5, 2, 5, -1f);
        Assert.Equal(0.0, Scored(Run(map, Center)));
    }

    [Fact]
    public void BoxClippedAtTheImageBorder()
    {
        // Source 12 × 10, Resize(10) keeps it, CenterCrop(10) starts at column round((12−10)/2) = 1.
        // Box [0,3)×[0,10) → input x ∈ [−1, 2) → clipped [0, 2): columns 0–1, all rows, n = 20 ≤ 33.
        // The map's 20 positive pixels are exactly those → 20/20.
        var t = Transform(12, 10, 10, 10);
        var input = Input(Map(10).Fill(10, 0, 10, 0, 2, 1f), t, Box(0, 0, 3, 10));
        Assert.Equal(20, input.BoxMaskCount);
        Assert.Equal(Box(0, 0, 2, 10), Assert.Single(input.TransformedBoxes));
        Assert.Equal(1.0, Scored(Metric.Compute(input)));
    }

    [Fact]
    public void SeveralBoxesMakeOneUnionMask()
    {
        // [2,5)² and [4,7)² share pixel (4,4): n = 9 + 9 − 1 = 17.
        // Value 1 on the first box (9 px), 0.5 on row 9, columns 0–7 (8 px): top 17 = those → 9/17.
        var map = Map(10).Fill(10, 2, 5, 2, 5, 1f).Fill(10, 9, 10, 0, 8, 0.5f);
        var input = Input(map, Identity(), Center, Box(4, 4, 7, 7));
        Assert.Equal(17, input.BoxMaskCount);
        Assert.Equal(9.0 / 17, Scored(Metric.Compute(input)), 15);

        // Both boxes at 1: the top 17 are the union → 1.
        var both = Map(10).Fill(10, 2, 5, 2, 5, 1f).Fill(10, 4, 7, 4, 7, 1f).Fill(10, 9, 10, 0, 8, 0.5f);
        Assert.Equal(1.0, Scored(Run(both, Center, Box(4, 4, 7, 7))));
    }

    [Fact]
    public void BoxesOverAThirdOfTheInputAreSkipped()
    {
        // 6 × 6 = 36 > 0.33 · 100 = 33.
        Skipped("box_too_large", Run(Map(10), Box(0, 0, 6, 6)));
        // Exactly 33: rows 0–2 (30 px) ∪ row 3, columns 0–2 (3 px) → scored; the all-zero map's top 33 are
        // indices 0–32 = rows 0–2 and (3,0)–(3,2), all inside → 1.
        Assert.Equal(1.0, Scored(Run(Map(10), Box(0, 0, 10, 3), Box(0, 3, 3, 4))));
        // 34 → skipped.
        Skipped("box_too_large", Run(Map(10), Box(0, 0, 10, 3), Box(0, 3, 4, 4)));
        // The fraction is an option: with 0.4, 36 ≤ 40 is scored.
        Assert.NotNull(new BoundingBoxAccuracy(0.4).Compute(Input(Map(10), Identity(), Box(0, 0, 6, 6))).Value);
    }

    [Fact]
    public void BoxesOutsideTheCropAreSkipped()
    {
        // Source 12 × 10, crop columns 1–10 of the source. Box [11,12) → input [10, 11) → clipped to [10, 10], empty;
        // box [0,1) → [−1, 0) → [0, 0], empty.
        var t = Transform(12, 10, 10, 10);
        var input = Input(Map(10, 1f), t, Box(11, 0, 12, 10), Box(0, 2, 1, 8));
        Assert.Empty(input.TransformedBoxes);
        Assert.Equal(0, input.BoxMaskCount);
        Skipped("no_box_in_crop", Metric.Compute(input));
        Skipped("no_box_in_crop", Run(Map(10, 1f))); // no box at all
    }

    [Fact]
    public void NonFiniteMapsAreSkipped() =>
        Skipped("non_finite_map", Run(Map(10, 0, (0, 0, float.NaN)), Center));
}
