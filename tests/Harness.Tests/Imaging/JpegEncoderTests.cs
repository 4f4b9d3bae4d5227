using Harness.Data.Imaging;

namespace Harness.Tests.Imaging;

public sealed class JpegEncoderTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("mipin-jpeg-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static RgbImage Original() => JpegDecoder.Decode(SampleImages.Path(GoldenImaging.Stems[1]));

    private static double MeanAbsDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        long sum = 0;
        for (var i = 0; i < a.Pixels.Length; i++) sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        return (double)sum / a.Pixels.Length;
    }

    [Fact]
    public void RoundTripAtQuality95IsClose()
    {
        var original = Original();
        var bytes = JpegEncoder.Encode(original, quality: 95);
        Assert.Equal(new byte[] { 0xFF, 0xD8 }, bytes[..2]);
        var diff = MeanAbsDifference(original, JpegDecoder.Decode(bytes, "roundtrip"));
        Assert.True(diff < 3, $"mean absolute difference {diff:F3} after a quality-95 round trip");
    }

    [Fact]
    public void LowerQualityGivesSmallerFiles() =>
        Assert.True(JpegEncoder.Encode(Original(), 30).Length < JpegEncoder.Encode(Original(), 95).Length);

    [Fact]
    public void SaveWritesTheFileAtomicallyAndReplacesAnOldOne()
    {
        var path = Path.Combine(_temp, "grids", "grid.jpg");
        var original = Original();
        JpegEncoder.Save(original, path, 95);
        JpegEncoder.Save(original, path, 90); // replaces the first file
        Assert.Equal(JpegEncoder.Encode(original, 90), File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary files left
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void QualityOutOfRangeIsRejected(int quality) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => JpegEncoder.Encode(Original(), quality));
}
