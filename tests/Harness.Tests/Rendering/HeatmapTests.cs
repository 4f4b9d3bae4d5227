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
    [InlineData(0f)]
    [InlineData(-2f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void MapsThatCannotBeNormalisedLeaveTheImageUnchanged(float value)
    {
        var image = Grey(6, 4);
        image.Pixels[5] = 17;
        var map = new float[24];
        map[3] = value;
        var result = Heatmap.Overlay(image, map, 6, 4);
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
        var result = Heatmap.Render(new[] { 0f, 1f, 2f, -1f }, 2, 2);
        Assert.Equal((2, 2), (result.Width, result.Height));
        Assert.Equal(new[] { Colormap.Map(0f), Colormap.Map(0.5f), Colormap.Map(1f), Colormap.Map(0f) },
            Enumerable.Range(0, 4).Select(i => (result.Pixels[3 * i], result.Pixels[3 * i + 1], result.Pixels[3 * i + 2])));
        var empty = Heatmap.Render(new float[4], 2, 2);
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal(Colormap.Map(0f).R, empty.Pixels[3 * i]));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Heatmap.Overlay(Grey(2, 2), new float[3], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Heatmap.Overlay(Grey(2, 2), new float[4], 2, 2, alpha: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Heatmap.Render(Array.Empty<float>(), 0, 0));
    }
}
