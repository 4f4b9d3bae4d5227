using Harness.Data.Imaging;
using Harness.Reports;

namespace Harness.Tests.Rendering;

public sealed class HeatmapTests
{
    private static RgbImage Grey(int width, int height, byte level = 128)
    {
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, level);
        return new RgbImage(width, height, pixels, "grey");
    }

    private static int Change(RgbImage before, RgbImage after, int x, int y)
    {
        var i = 3 * (y * before.Width + x);
        return Math.Abs(before.Pixels[i] - after.Pixels[i]) + Math.Abs(before.Pixels[i + 1] - after.Pixels[i + 1])
            + Math.Abs(before.Pixels[i + 2] - after.Pixels[i + 2]);
    }

    [Theory]
    [InlineData(0f, MapSign.Auto)]
    [InlineData(-2f, MapSign.Positive)]
    [InlineData(float.NaN, MapSign.Auto)]
    [InlineData(float.PositiveInfinity, MapSign.Absolute)]
    public void MapsThatCannotBeNormalisedLeaveTheImageUnchanged(float value, MapSign sign)
    {
        var image = Grey(6, 4);
        image.Pixels[5] = 17;
        var map = new float[24];
        map[3] = value;
        var result = Heatmap.Overlay(image, map, 6, 4, style: new HeatmapStyle(sign));
        Assert.Equal(image.Pixels, result.Pixels);
        Assert.NotSame(image.Pixels, result.Pixels); // a copy: drawing on the result must not touch the input
    }

    [Fact]
    public void APeakedMapColoursThePeakMostStrongly()
    {
        var image = Grey(7, 5);
        var map = Enumerable.Range(0, 35).Select(i => 0.1f + 0.01f * i).ToArray();
        map[2 * 7 + 3] = 5f;
        var result = Heatmap.Overlay(image, map, 7, 5, alpha: 0.6);
        var peak = Change(image, result, 3, 2);
        for (var y = 0; y < 5; y++)
            for (var x = 0; x < 7; x++)
                if ((x, y) != (3, 2)) Assert.True(Change(image, result, x, y) < peak, $"pixel ({x}, {y}) changed as much as the peak");
        // At the peak the blend weight is alpha: 0.6 × inferno(1) + 0.4 × grey.
        var top = Colormap.Map(1f);
        Assert.Equal((byte)Math.Round(0.6 * top.R + 0.4 * 128, MidpointRounding.AwayFromZero), result.Pixels[3 * (2 * 7 + 3)]);
    }

    [Fact]
    public void MapsOfAnotherSizeAreResizedNearest()
    {
        // A 2x2 map over a 4x4 image: the top-left map cell covers the top-left 2x2 pixels.
        var image = Grey(4, 4);
        var result = Heatmap.Overlay(image, new[] { 1f, 0f, 0f, 0f }, 2, 2, alpha: 1);
        var peak = Colormap.Map(1f);
        foreach (var (x, y) in new[] { (0, 0), (1, 0), (0, 1), (1, 1) })
            Assert.Equal(peak.R, result.Pixels[3 * (y * 4 + x)]);
        Assert.Equal(0, Change(image, result, 3, 3));
        Assert.Equal(0, Change(image, result, 2, 1));
    }

    [Fact]
    public void RenderColoursTheMapAlone()
    {
        var result = Heatmap.Render(new[] { 0f, 1f, 2f, -1f }, 2, 2, new HeatmapStyle(MapSign.Positive, 100));
        Assert.Equal((2, 2), (result.Width, result.Height));
        Assert.Equal(new[] { Colormap.Map(0f), Colormap.Map(0.5f), Colormap.Map(1f), Colormap.Map(0f) },
            Enumerable.Range(0, 4).Select(i => (result.Pixels[3 * i], result.Pixels[3 * i + 1], result.Pixels[3 * i + 2])));
        var empty = Heatmap.Render(new float[4], 2, 2);
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal(Colormap.Map(0f).R, empty.Pixels[3 * i]));
    }

    [Fact]
    public void PercentileIsNumpys()
    {
        // numpy.percentile(np.arange(1, 11), 99) = 9.91 (position 0.99 × 9 = 8.91 between 9 and 10).
        Assert.Equal(9.91, Heatmap.Percentile(Enumerable.Range(1, 10).Select(v => (float)v).ToArray(), 99), 12);
        Assert.Equal(10, Heatmap.Percentile(Enumerable.Range(1, 10).Select(v => (float)v).ToArray(), 100), 12);
    }

    [Fact]
    public void ClippingAtThe99thPercentileMakesAGradientLikeMapVisible()
    {
        // 400 small values and a 1000× outlier, as a gradient map has: scaled by the maximum, the rest is near black
        // (t ≤ 0.001); clipped at the 99th percentile, the largest ordinary values reach the top of the colour scale.
        var map = Enumerable.Range(0, 400).Select(i => 0.5f + i / 400f).ToArray();
        map[17] = 1000f;
        var byMax = Heatmap.Normalise(map, new HeatmapStyle(MapSign.Absolute, 100), out _)!;
        var clipped = Heatmap.Normalise(map, HeatmapStyle.Default, out var signed)!;
        Assert.False(signed);
        Assert.True(byMax.Where((_, i) => i != 17).Max() < 0.0015f);
        Assert.True(clipped.Where((_, i) => i != 17).Max() > 0.99f);
        Assert.Equal(1f, clipped[17]);
        Assert.True(clipped.Count(v => v >= 1f) <= 5, "only the top 1% saturates");
    }

    [Fact]
    public void SignedMapsUseTheDivergingColours()
    {
        var result = Heatmap.Render(new[] { -1f, 0f, 1f, 0.5f }, 2, 2, new HeatmapStyle(MapSign.Auto, 100));
        Assert.Equal(new[] { DivergingColormap.Map(-1f), DivergingColormap.Map(0f), DivergingColormap.Map(1f), DivergingColormap.Map(0.5f) },
            Enumerable.Range(0, 4).Select(i => (result.Pixels[3 * i], result.Pixels[3 * i + 1], result.Pixels[3 * i + 2])));
        Assert.Equal(((byte)0x21, (byte)0x66, (byte)0xAC), DivergingColormap.Map(-1f)); // RdBu blue: against the class
        Assert.Equal(((byte)0xB2, (byte)0x18, (byte)0x2B), DivergingColormap.Map(1f));  // RdBu red: for the class
        // Over an image, zero keeps the image and the magnitude sets the blend weight, whatever the sign.
        var image = Grey(2, 2);
        var over = Heatmap.Overlay(image, new[] { -1f, 0f, 1f, 0.5f }, 2, 2, alpha: 1, style: new HeatmapStyle(MapSign.Signed, 100));
        Assert.Equal(0, Change(image, over, 1, 0));
        Assert.Equal(DivergingColormap.Map(-1f).R, over.Pixels[0]);
    }

    [Fact]
    public void ColourBarsShowBothScales()
    {
        var unsigned = ColourBar.Render(false, 99, width: 200);
        var signed = ColourBar.Render(true, 99, width: 200);
        // The bar row holds the colormap's ends: inferno's black at the left, RdBu's blue at the left of the signed bar.
        (byte, byte, byte) Pixel(RgbImage im, int x, int y) => (im.Pixels[3 * (y * im.Width + x)], im.Pixels[3 * (y * im.Width + x) + 1], im.Pixels[3 * (y * im.Width + x) + 2]);
        // The bar is the first row whose 200 central pixels are all coloured (text rows have gaps between glyphs).
        int BarRow(RgbImage im) => Enumerable.Range(0, im.Height).First(y =>
            Enumerable.Range((im.Width - 200) / 2, 200).All(x => Pixel(im, x, y) != ((byte)255, (byte)255, (byte)255)));
        Assert.Equal(Colormap.Map(0f), Pixel(unsigned, (unsigned.Width - 200) / 2, BarRow(unsigned) + 3));
        Assert.Equal(Colormap.Map(1f), Pixel(unsigned, (unsigned.Width - 200) / 2 + 199, BarRow(unsigned) + 3));
        Assert.Equal(DivergingColormap.Map(-1f), Pixel(signed, (signed.Width - 200) / 2, BarRow(signed) + 3));
        Assert.Equal(DivergingColormap.Map(1f), Pixel(signed, (signed.Width - 200) / 2 + 199, BarRow(signed) + 3));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Heatmap.Overlay(Grey(2, 2), new float[3], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Heatmap.Overlay(Grey(2, 2), new float[4], 2, 2, alpha: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Heatmap.Render(Array.Empty<float>(), 0, 0));
    }
}
