using Harness.Data.Imaging;
using Harness.Metrics;
using static Harness.Tests.Metrics.MetricMaps;

namespace Harness.Tests.Metrics;

/// <summary>
/// localization_accuracy on 10 × 10 maps with the identity transform (boxes are already in the input frame).
/// Boxes are written [x0, x1) × [y0, y1): columns first.
/// </summary>
public sealed class LocalizationAccuracyTests
{
    private static readonly LocalizationAccuracy Metric = new();

    private static double Run(float[] map, params BoundingBox[] boxes) => Scored(Metric.Compute(Input(map, Identity(), boxes)));

    [Fact]
    public void TheLargerOfTwoBlobsDecidesNotTheBrighter()
    {
        // Blob A: rows 0–2, columns 0–2 at 1 (9 px). Blob B: rows 5–8, columns 5–8 at 0.5 (16 px). t = 0.15 · 1:
        // both pass. B is larger → box [5, 9) × [5, 9).
        var map = Map(10).Fill(10, 0, 3, 0, 3, 1f).Fill(10, 5, 9, 5, 9, 0.5f);
        Assert.Equal(Box(5, 5, 9, 9), LocalizationAccuracy.LargestComponentBox(Input(map, Identity()).Positive, 10, 0.15));
        Assert.Equal(1.0, Run(map, Box(5, 5, 9, 9)));
        Assert.Equal(0.0, Run(map, Box(0, 0, 3, 3))); // A's box: IoU 0
    }

    [Fact]
    public void PixelsBelowTheThresholdAreBackground()
    {
        // 1 at (0,0), 0.1 on rows 1–9: 0.1 < 0.15 · 1, so the component is (0,0) alone → box [0,1) × [0,1).
        var map = Map(10).Fill(10, 1, 10, 0, 10, 0.1f);
        map[0] = 1f;
        Assert.Equal(1.0, Run(map, Box(0, 0, 1, 1)));
        Assert.Equal(0.0, Run(map, Box(0, 0, 10, 10))); // IoU 1/100
    }

    [Fact]
    public void ThresholdIsInclusive()
    {
        // Threshold 0.25, max 1: (0,1)–(0,3) at exactly 0.25 pass (m ≥ t) → box [0,4) × [0,1), IoU 1 with the truth.
        var metric = new LocalizationAccuracy(threshold: 0.25);
        var truth = Box(0, 0, 4, 1);
        Assert.Equal(1.0, Scored(metric.Compute(Input(Map(10, 0, (0, 0, 1), (0, 1, 0.25f), (0, 2, 0.25f), (0, 3, 0.25f)), Identity(), truth))));
        // Just below (0.2499): only (0,0) passes → box [0,1) × [0,1), IoU 1/4 → miss.
        Assert.Equal(0.0, Scored(metric.Compute(Input(Map(10, 0, (0, 0, 1), (0, 1, 0.2499f), (0, 2, 0.2499f), (0, 3, 0.2499f)), Identity(), truth))));
    }

    [Fact]
    public void ComponentsAreEightConnected()
    {
        // A diagonal (0,0) (1,1) (2,2) (3,3) is one 4-pixel component; a 3-pixel line on row 8 is smaller.
        // Box [0,4) × [0,4) → IoU 1 with the truth. (With 4-connectivity the line would win → miss.)
        var map = Map(10, 0, (0, 0, 1), (1, 1, 1), (2, 2, 1), (3, 3, 1), (8, 0, 1), (8, 1, 1), (8, 2, 1));
        Assert.Equal(1.0, Run(map, Box(0, 0, 4, 4)));
    }

    [Fact]
    public void EqualSizesGoToTheComponentFirstInRowMajorOrder()
    {
        // A: rows 0–1, columns 6–7 at 0.9 (first pixel index 6). B: rows 5–6, columns 0–1 at 1.0 (first index 50).
        // Both have 4 pixels; A comes first, though B holds the maximum → box [6,8) × [0,2).
        var map = Map(10).Fill(10, 0, 2, 6, 8, 0.9f).Fill(10, 5, 7, 0, 2, 1f);
        Assert.Equal(1.0, Run(map, Box(6, 0, 8, 2)));
        Assert.Equal(0.0, Run(map, Box(0, 5, 2, 7)));
    }

    [Fact]
    public void HitNeedsIoUOfAtLeastOneHalf()
    {
        // The component is rows 0–1, columns 0–3 → box [0,4) × [0,2), area 8.
        var map = Map(10).Fill(10, 0, 2, 0, 4, 1f);
        Assert.Equal(1.0, Run(map, Box(0, 0, 4, 4)));     // truth area 16 contains it: IoU 8/16 = 0.5 exactly → hit
        Assert.Equal(0.0, Run(map, Box(0, 0, 4, 4.25))); // area 17: IoU 8/17 ≈ 0.47 → miss
        Assert.Equal(1.0, Run(map, Box(0, 0, 4, 3.75))); // area 15: IoU 8/15 ≈ 0.53 → hit
        Assert.Equal(1.0, Run(map, Box(1, 0, 5, 2)));    // overlap 3·2 = 6, union 8 + 8 − 6 = 10: 0.6 → hit
        Assert.Equal(0.0, Run(map, Box(2, 0, 6, 2)));    // overlap 4, union 12: 1/3 → miss
        Assert.Equal(0.5, LocalizationAccuracy.IoU(Box(0, 0, 4, 2), Box(0, 0, 4, 4)));
    }

    [Fact]
    public void IoUThresholdIsAnOption()
    {
        // IoU 8/17 ≈ 0.47: a hit at iou = 0.45.
        var input = Input(Map(10).Fill(10, 0, 2, 0, 4, 1f), Identity(), Box(0, 0, 4, 4.25));
        Assert.Equal(1.0, Scored(new LocalizationAccuracy(iou: 0.45).Compute(input)));
    }

    [Fact]
    public void AnyOfSeveralBoxesCounts()
    {
        var map = Map(10).Fill(10, 0, 2, 0, 4, 1f); // box [0,4) × [0,2)
        Assert.Equal(1.0, Run(map, Box(6, 6, 9, 9), Box(0, 0, 4, 2)));
    }

    [Fact]
    public void TruthIsClippedToTheCrop()
    {
        // Source 16 × 10: no resize, the crop starts at source column round((16−10)/2) = 3. Truth [0,5) × [0,10)
        // → input [−3, 2) → clipped [0, 2) × [0, 10), area 20. The map's component is columns 0–1, all rows:
        // IoU 20/20 = 1 → hit (unclipped it would be 20/50 = 0.4 → miss).
        var t = Transform(16, 10, 10, 10);
        Assert.Equal(3, t.CropLeft);
        var map = Map(10).Fill(10, 0, 10, 0, 2, 1f);
        Assert.Equal(1.0, Scored(Metric.Compute(Input(map, t, Box(0, 0, 5, 10)))));
        // A truth entirely outside the crop cannot be hit.
        Assert.Equal(0.0, Scored(Metric.Compute(Input(map, t, Box(14, 0, 16, 10)))));
    }

    [Fact]
    public void BlankMapsScoreZero()
    {
        Assert.Equal(0.0, Run(Map(10), Box(0, 0, 10, 10)));
        Assert.Equal(0.0, Run(Map(10, -1f), Box(0, 0, 10, 10)));
    }

    [Fact]
    public void ImagesWithoutBoxesAreSkipped() => Skipped("no_boxes", Metric.Compute(Input(Map(10, 1f), Identity())));

    [Fact]
    public void LargeComponentsNeedNoRecursion()
    {
        // A 224 × 224 map that is one component of 50,176 pixels (a recursive fill would go that deep).
        var t = Transform(224, 224, 224, 224);
        var input = Input(Map(224, 1f), t, Box(0, 0, 224, 224));
        Assert.Equal(Box(0, 0, 224, 224), LocalizationAccuracy.LargestComponentBox(input.Positive, 224, 0.15));
        Assert.Equal(1.0, Scored(Metric.Compute(input)));
    }
}
