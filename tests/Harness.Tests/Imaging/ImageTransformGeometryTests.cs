using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Tests.Imaging;

/// <summary>
/// Geometry of <see cref="ImageTransform"/>: torchvision's sizes and crop offsets, and boxes and masks landing on
/// the pixels that the image content lands on.
/// </summary>
public sealed class ImageTransformGeometryTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Theory]
    [InlineData(227, 227, 256, 224, 256, 256, 16, 16)]
    [InlineData(300, 180, 256, 224, 426, 256, 101, 16)] // long side int(256·300/180) = int(426.67)
    [InlineData(180, 300, 256, 224, 256, 426, 16, 101)]
    [InlineData(320, 200, 256, 224, 409, 256, 92, 16)]  // left = round(92.5) = 92: halves round to even
    [InlineData(300, 180, 224, 224, 373, 224, 74, 0)]   // left = round(74.5) = 74
    [InlineData(75, 45, 43, 32, 71, 43, 20, 6)]         // round(19.5) = 20, round(5.5) = 6
    [InlineData(224, 300, 224, 224, 224, 300, 0, 38)]   // shorter side already 224: no resize
    [InlineData(50, 30, 23, 32, 38, 23, 3, -4)]         // height 23 < 32: 4 rows of padding above, 5 below
    [InlineData(100, 80, 256, 224, 320, 256, 48, 16)]   // image smaller than the crop: upscaled (short side 80 → 256) like torchvision
    public void SizesAndOffsetsFollowTorchvision(int w, int h, int resize, int crop, int rw, int rh, int left, int top)
    {
        var t = new ImageTransform(new PreprocessConfig(resize, crop, [0, 0, 0], [1, 1, 1]), w, h);
        Assert.Equal((rw, rh, left, top, crop), (t.ResizedWidth, t.ResizedHeight, t.CropLeft, t.CropTop, t.OutputSize));
        Assert.Equal(rw != w || rh != h, t.Resizes);
    }

    // A 320×200 image: a gray background (R = G = B) with filled red boxes.
    private static RgbImage Painted(params BoundingBox[] boxes)
    {
        const int w = 320, h = 200;
        var pixels = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var inside = boxes.Any(b => x >= b.XMin && x < b.XMax && y >= b.YMin && y < b.YMax);
                var gray = (byte)(30 + (x * 3 + y * 5) % 90);
                pixels[(y * w + x) * 3] = inside ? (byte)255 : gray;
                pixels[(y * w + x) * 3 + 1] = inside ? (byte)0 : gray;
                pixels[(y * w + x) * 3 + 2] = inside ? (byte)0 : gray;
            }
        return new RgbImage(w, h, pixels, "painted");
    }

    // Output pixels that are mostly red: back to 0..255, then R − G above half of the red/background contrast.
    private static bool[,] RedPixels(Tensor output, PreprocessConfig config)
    {
        var crop = (int)output.size(1);
        var values = output.ToArray<float>();
        var (mean, std) = (config.Mean, config.Std);
        var red = new bool[crop, crop];
        for (var i = 0; i < crop; i++)
            for (var j = 0; j < crop; j++)
            {
                var r = (values[i * crop + j] * std[0] + mean[0]) * 255;
                var g = (values[crop * crop + i * crop + j] * std[1] + mean[1]) * 255;
                red[i, j] = r - g > 127.5;
            }
        return red;
    }

    public static TheoryData<string, int, int, int, int> BoxCases => new()
    {
        { "imagenet", 40, 30, 119, 89 },   // the left part falls outside the crop: clipped at 0
        { "imagenet", 150, 60, 229, 139 }, // fully inside
        { "coral", 40, 30, 119, 89 },
        { "coral", 150, 60, 229, 139 },
        { "padded", 40, 30, 119, 89 },     // Resize(100), CenterCrop(128): zero padding above and below
    };

    private static PreprocessConfig Config(string name) => name switch
    {
        "imagenet" => PreprocessConfig.ImageNet,
        "coral" => PreprocessConfig.MobileNetV2Coral,
        "padded" => new PreprocessConfig(100, 128, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(BoxCases))]
    public void TransformedBoxCoversTheTransformedColouredRegion(string configName, int x0, int y0, int x1, int y1)
    {
        var config = Config(configName);
        var box = BoundingBox.FromInclusivePixels(x0, y0, x1, y1);
        var image = Painted(box);
        var t = new ImageTransform(config, image.Width, image.Height);
        var red = RedPixels(t.Apply(image), config);
        var moved = t.ApplyToBox(box) ?? throw new InvalidOperationException("box left the crop");

        // The red region's extent in the output, in the same half-open pixel convention as BoundingBox.
        var crop = t.OutputSize;
        int minI = crop, maxI = -1, minJ = crop, maxJ = -1;
        for (var i = 0; i < crop; i++)
            for (var j = 0; j < crop; j++)
                if (red[i, j]) (minI, maxI, minJ, maxJ) = (Math.Min(minI, i), Math.Max(maxI, i), Math.Min(minJ, j), Math.Max(maxJ, j));
        Assert.True(maxI >= 0, "no red pixels in the output");
        Assert.InRange(minJ - moved.XMin, -1, 1);
        Assert.InRange(maxJ + 1 - moved.XMax, -1, 1);
        Assert.InRange(minI - moved.YMin, -1, 1);
        Assert.InRange(maxI + 1 - moved.YMax, -1, 1);

        // BoxMask agrees with the red pixels.
        var boxMask = t.BoxMask([box]).ToArray<float>();
        int both = 0, either = 0;
        for (var i = 0; i < crop; i++)
            for (var j = 0; j < crop; j++)
            {
                var inBox = boxMask[i * crop + j] == 1f;
                if (inBox && red[i, j]) both++;
                if (inBox || red[i, j]) either++;
            }
        var iou = (double)both / either;
        Assert.True(iou > 0.95, $"IoU of BoxMask and the red region is {iou:F3}");

        // The source-frame mask of the box, taken through the transform, is the same mask.
        var source = torch.zeros(new long[] { image.Height, image.Width }, ScalarType.Bool);
        source[y0..(y1 + 1), x0..(x1 + 1)] = torch.ones(new long[] { 1 }, ScalarType.Bool);
        var warped = t.ApplyToMask(source);
        Assert.Equal(new long[] { crop, crop }, warped.shape);
        Assert.Equal(ScalarType.Float32, warped.dtype);
        Assert.Equal(boxMask, warped.ToArray<float>());
        // ... also when given as a float mask.
        Assert.Equal(boxMask, t.ApplyToMask(source.to(ScalarType.Float32)).ToArray<float>());
    }

    [Fact]
    public void BoxMaskIsTheUnionOfTheBoxes()
    {
        var t = new ImageTransform(PreprocessConfig.MobileNetV2Coral, 224, 224); // identity geometry
        var mask = t.BoxMask([new BoundingBox(0, 0, 10, 10), new BoundingBox(5, 5, 20, 12), new BoundingBox(500, 500, 600, 600)]);
        Assert.Equal(100 + 15 * 7 - 5 * 5, (int)mask.sum().item<float>());
        Assert.Equal(0f, t.BoxMask([]).sum().item<float>());
    }

    [Fact]
    public void BoxesAreScaledShiftedAndClipped()
    {
        var t = new ImageTransform(PreprocessConfig.ImageNet, 300, 180); // ×256/180 on y, ×426/300 on x; crop at (101, 16)
        var moved = t.ApplyToBox(new BoundingBox(150, 90, 210, 180))!.Value;
        Assert.Equal(150 * 426.0 / 300 - 101, moved.XMin, 9);
        Assert.Equal(90 * 256.0 / 180 - 16, moved.YMin, 9);
        Assert.Equal(210 * 426.0 / 300 - 101, moved.XMax, 9);
        Assert.Equal(224, moved.YMax); // 256 − 16 = 240, clipped to the crop
        Assert.Null(t.ApplyToBox(new BoundingBox(0, 0, 50, 180))); // 50·1.42 = 71 < 101: entirely left of the crop
        Assert.Null(t.ApplyToBox(new BoundingBox(10, 10, 10, 50))); // empty box
    }

    [Fact]
    public void MaskPaddingIsZero()
    {
        // 50×30 → 38×23 inside a 32×32 crop: rows 0..3 and 27..31 are padding.
        var t = new ImageTransform(new PreprocessConfig(23, 32, [0, 0, 0], [1, 1, 1]), 50, 30);
        var warped = t.ApplyToMask(torch.ones(new long[] { 30, 50 }));
        var rowSums = warped.sum(1).ToArray<float>();
        Assert.Equal(Enumerable.Repeat(0f, 4).Concat(Enumerable.Repeat(32f, 23)).Concat(Enumerable.Repeat(0f, 5)), rowSums);
        Assert.Throws<ArgumentException>(() => t.ApplyToMask(torch.ones(new long[] { 50, 30 })));
    }

    [Fact]
    public void BatchStacksEachImageThroughItsOwnTransform()
    {
        var a = Painted(new BoundingBox(10, 10, 50, 50));
        var b = JpegDecoder.Decode(SampleImages.Path(GoldenImaging.Stems[0]));
        var config = PreprocessConfig.ImageNet;
        var batch = ImageTransform.Batch([a, b], config);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, batch.shape);
        Assert.True(batch[0].equal(new ImageTransform(config, a.Width, a.Height).Apply(a)));
        Assert.True(batch[1].equal(new ImageTransform(config, b.Width, b.Height).Apply(b)));
        Assert.Throws<ArgumentException>(() => ImageTransform.Batch([], config));
    }

    [Fact]
    public void ResultsAreTheOnlyTensorsLeftInTheCallersScope()
    {
        using var scope = torch.NewDisposeScope();
        var image = Painted(new BoundingBox(10, 10, 50, 50));
        var t = new ImageTransform(PreprocessConfig.ImageNet, image.Width, image.Height);
        var mask = torch.ones(new long[] { image.Height, image.Width }); // 1
        t.Apply(image);                                                   // 2
        t.ApplyToMask(mask);                                              // 3
        t.BoxMask([new BoundingBox(0, 0, 5, 5)]);                         // 4
        ImageTransform.Batch([image, image], PreprocessConfig.ImageNet);  // 5
        Assert.Equal(5, scope.Count);
    }

    [Fact]
    public void ImageOfAnotherSizeIsRejected()
    {
        var t = new ImageTransform(PreprocessConfig.ImageNet, 300, 200);
        var e = Assert.Throws<ArgumentException>(() => t.Apply(Painted()));
        Assert.Contains("320x200", e.Message);
        Assert.Contains("300x200", e.Message);
    }
}
