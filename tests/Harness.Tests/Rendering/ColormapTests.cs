using Harness.Reports;

namespace Harness.Tests.Rendering;

public sealed class ColormapTests
{
    private static double Luminance((byte R, byte G, byte B) c) => 0.2126 * c.R + 0.7152 * c.G + 0.0722 * c.B;

    [Fact]
    public void EndpointsAreMatplotlibsInferno()
    {
        // plt.cm.inferno(0.0) and (1.0), times 255 and rounded.
        Assert.Equal(((byte)0, (byte)0, (byte)4), Colormap.Map(0f));
        Assert.Equal(((byte)252, (byte)255, (byte)164), Colormap.Map(1f));
    }

    [Fact]
    public void LuminanceIncreasesMonotonically()
    {
        // Inferno is monotone in perceptual lightness (CAM02-UCS); in Rec. 709 luma of the byte-rounded table a few
        // neighbours dip by < 0.2 of 255, so allow that, and require a clear rise every 4 entries.
        var luminance = Enumerable.Range(0, Colormap.Size).Select(i => Luminance(Colormap.Map((i + 0.5f) / Colormap.Size))).ToArray();
        for (var i = 1; i < luminance.Length; i++)
            Assert.True(luminance[i] > luminance[i - 1] - 0.25, $"luminance drops at entry {i}");
        for (var i = 4; i < luminance.Length; i += 4)
            Assert.True(luminance[i] > luminance[i - 4] + 1, $"luminance does not rise from entry {i - 4} to {i}");
    }

    [Theory]
    [InlineData(-3f, 0f)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(7f, 1f)]
    [InlineData(float.PositiveInfinity, 1f)]
    public void OutOfRangeValuesAreClamped(float t, float clamped) => Assert.Equal(Colormap.Map(clamped), Colormap.Map(t));

    [Fact]
    public void NaNIsBlack() => Assert.Equal(((byte)0, (byte)0, (byte)0), Colormap.Map(float.NaN));
}
