using Harness.Data.Imaging;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.Imaging;

/// <summary>
/// <see cref="ImageTransform"/> against torchvision 0.14's Resize → CenterCrop → ToTensor → Normalize on PIL images
/// (Golden/make_golden_imaging.py). Measured: identical floats (max |difference| 0) on every case, because the
/// resize reproduces PIL's fixed-point arithmetic and ToTensor/Normalize run the same libtorch ops; the tolerance
/// only allows for float rounding.
/// </summary>
public sealed class ImageTransformGoldenTests : IClassFixture<GoldenImaging>, IDisposable
{
    private const double Tolerance = 1e-6; // normalized units

    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    private readonly GoldenImaging _g;
    private readonly ITestOutputHelper _output;
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public ImageTransformGoldenTests(GoldenImaging golden, ITestOutputHelper output)
    {
        _g = golden;
        _output = output;
    }

    public void Dispose() => _scope.Dispose();

    private static PreprocessConfig Config(string name) => name switch
    {
        "imagenet" => PreprocessConfig.ImageNet,
        "coral" => PreprocessConfig.MobileNetV2Coral,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // Compares the transform's output at the golden file's sampled positions.
    private void AssertSampled(string key, RgbImage image, PreprocessConfig config)
    {
        var output = new ImageTransform(config, image.Width, image.Height).Apply(image);
        Assert.Equal(new long[] { 3, config.CropSize, config.CropSize }, output.shape);
        Assert.Equal(ScalarType.Float32, output.dtype);
        var actual = output.reshape(-1).index_select(0, _g["sample.index"]).ToArray<float>();
        var max = ImagingAssert.MaxAbsDifference(_g[key].ToArray<float>(), actual);
        _output.WriteLine($"{key}: max |difference| {max:G3}");
        Assert.True(max <= Tolerance, $"{key}: differs from torchvision by up to {max:G3}");
    }

    [Theory]
    [InlineData("imagenet")]
    [InlineData("coral")]
    public void SampleImagesMatchTorchvision(string config)
    {
        foreach (var stem in GoldenImaging.Stems)
            AssertSampled($"{config}.{stem}", JpegDecoder.Decode(SampleImages.Path(stem)), Config(config));
    }

    [Theory]
    [InlineData("imagenet")] // 300×180 → 426×256, crop at (101, 16)
    [InlineData("coral")]    // 300×180 → 373×224, crop left round(74.5) = 74
    public void NonSquareImagesMatchTorchvision(string config)
    {
        var wide = _g.Image("synthetic.image");
        AssertSampled($"synthetic.{config}", wide, Config(config));
        AssertSampled($"synthetic.{config}_tall", Transpose(wide), Config(config));
    }

    [Theory]
    [InlineData("crop_round_down", 41, 32)]
    [InlineData("crop_round_up", 43, 32)]
    [InlineData("pad", 23, 32)]
    [InlineData("pad_tall", 23, 32)]
    [InlineData("pad_both", 12, 24)]
    [InlineData("upscale", 64, 48)]
    [InlineData("no_resize", 33, 32)]
    public void SmallCasesMatchTorchvisionEverywhere(string name, int resize, int crop)
    {
        var image = _g.Image($"small.{name}.image");
        var config = new PreprocessConfig(resize, crop, ImageNetMean, ImageNetStd);
        var expected = _g[$"small.{name}.out"];
        var actual = new ImageTransform(config, image.Width, image.Height).Apply(image);
        Assert.Equal(expected.shape, actual.shape);
        var max = ImagingAssert.MaxAbsDifference(expected.ToArray<float>(), actual.ToArray<float>());
        _output.WriteLine($"small.{name}: max |difference| {max:G3}");
        Assert.True(max <= Tolerance, $"small.{name}: differs from torchvision by up to {max:G3}");
    }

    private static RgbImage Transpose(RgbImage image)
    {
        var (w, h) = (image.Width, image.Height);
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                image.Pixels.AsSpan((y * w + x) * 3, 3).CopyTo(pixels.AsSpan((x * h + y) * 3));
        return new RgbImage(h, w, pixels, image.Source + ".T");
    }
}
