using Harness.Data.Imaging;

namespace Harness.Tests.Imaging;

/// <summary>JPEG decoding against Pillow 9.4 (Golden/make_golden_imaging.py), and the errors for bad files.</summary>
public sealed class JpegDecoderTests : IClassFixture<GoldenImaging>, IDisposable
{
    private readonly GoldenImaging _g;
    private readonly string _temp = Directory.CreateTempSubdirectory("mipin-jpeg-").FullName;

    public JpegDecoderTests(GoldenImaging golden) => _g = golden;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void SampleImagesDecodeExactlyLikePil()
    {
        foreach (var stem in GoldenImaging.Stems)
        {
            var path = SampleImages.Path(stem);
            var image = JpegDecoder.Decode(path);
            Assert.Equal(path, image.Source);
            ImagingAssert.SamePixels(_g.Image($"decode.{stem}"), image, stem);
        }
    }

    [Theory]
    [InlineData("gray")] // grayscale JPEG: gray replicated to R, G, B as convert("RGB")
    [InlineData("cmyk")] // Adobe CMYK JPEG written by PIL: inverted CMYK, Pillow's CMYK→RGB formula
    [InlineData("ycck")] // YCCK JPEG written by libturbojpeg: libjpeg's YCCK→CMYK, then as above
    public void SpecialColourSpacesDecodeLikePil(string name)
    {
        var image = JpegDecoder.Decode(_g.Bytes($"{name}.jpeg"), name);
        ImagingAssert.SamePixels(_g.Image($"{name}.rgb"), image, name);
    }

    [Fact]
    public void DecodingIsThreadSafe()
    {
        var path = SampleImages.Path(GoldenImaging.Stems[0]);
        var expected = JpegDecoder.Decode(path).Pixels;
        var results = new byte[16][];
        Parallel.For(0, results.Length, i => results[i] = JpegDecoder.Decode(path).Pixels);
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(_temp, "nope.JPEG");
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("file not found", e.Message);
        Assert.Equal(path, e.ImageSource);
    }

    [Fact]
    public void EmptyFileIsReported()
    {
        var path = Path.Combine(_temp, "empty.JPEG");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("empty file", e.Message);
    }

    [Fact]
    public void RandomBytesAreNotAJpeg()
    {
        var path = Path.Combine(_temp, "noise.JPEG");
        var noise = new byte[5000];
        new Random(1).NextBytes(noise);
        noise[0] = 0x12;
        File.WriteAllBytes(path, noise);
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a JPEG", e.Message);
    }

    [Fact]
    public void DecompressionBombIsRefusedBeforeDecoding()
    {
        // A real JPEG whose frame header (SOF0/SOF2) claims 20000×20000 pixels: over PIL's 178,956,970-pixel limit.
        var data = File.ReadAllBytes(SampleImages.Path(GoldenImaging.Stems[0]));
        var sof = Enumerable.Range(0, data.Length - 9).First(i => data[i] == 0xFF && (data[i + 1] == 0xC0 || data[i + 1] == 0xC2));
        data[sof + 5] = 20000 >> 8; data[sof + 6] = 20000 & 0xFF; // height
        data[sof + 7] = 20000 >> 8; data[sof + 8] = 20000 & 0xFF; // width
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(data, "bomb.JPEG"));
        Assert.Contains("20000x20000 pixels exceeds the 178,956,970-pixel limit", e.Message);
    }

    [Fact]
    public void PngNamedJpegIsRecognised()
    {
        byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(png, "n02105855_2933.JPEG"));
        Assert.Contains("not a JPEG (the data is a PNG image)", e.Message);
    }

    [Fact]
    public void RandomBytesAfterTheJpegMarkerAreCorrupt()
    {
        var data = new byte[5000];
        new Random(2).NextBytes(data);
        data[0] = 0xFF;
        data[1] = 0xD8;
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(data, "garbage.JPEG"));
        Assert.Contains("garbage.JPEG", e.Message);
        Assert.Contains("truncated/corrupt JPEG data: ", e.Message);
    }

    [Fact]
    public void FileCutInsideTheHeaderIsCorrupt()
    {
        var data = File.ReadAllBytes(SampleImages.Path(GoldenImaging.Stems[0]))[..200];
        var e = Assert.Throws<ImageDecodeException>(() => JpegDecoder.Decode(data, "cut.JPEG"));
        Assert.Contains("truncated/corrupt JPEG data: ", e.Message);
    }

    [Fact]
    public void FileCutInHalfDecodesWithAWarningAndKeepsItsFirstRows()
    {
        // libjpeg decodes what is there, warns "Premature end of JPEG file" and fills the rest with gray.
        // Like TurboJPEG (and unlike PIL, which raises unless LOAD_TRUNCATED_IMAGES), this counts as decoded.
        var full = File.ReadAllBytes(SampleImages.Path(GoldenImaging.Stems[0]));
        var path = Path.Combine(_temp, "half.JPEG");
        File.WriteAllBytes(path, full[..(full.Length / 2)]);
        var warnings = new List<string>();

        var half = JpegDecoder.Decode(path, warnings.Add);
        var reference = JpegDecoder.Decode(full, "full");

        Assert.Equal((reference.Width, reference.Height), (half.Width, half.Height));
        Assert.Contains(warnings, w => w.Contains("Premature end of JPEG file"));
        var quarter = reference.Width * 3 * (reference.Height / 4);
        Assert.Equal(reference.Pixels[..quarter], half.Pixels[..quarter]); // data before the cut is intact
        Assert.NotEqual(reference.Pixels[^quarter..], half.Pixels[^quarter..]); // data after it is lost
    }
}
