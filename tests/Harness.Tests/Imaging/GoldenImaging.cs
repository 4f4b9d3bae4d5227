using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Tests.Imaging;

/// <summary>
/// The reference values written by Golden/make_golden_imaging.py with Pillow 9.4 and torchvision 0.14 (PIL decodes
/// and torchvision preprocessing outputs, keyed "case.name"). Loaded once per test class.
/// </summary>
public sealed class GoldenImaging : IDisposable
{
    /// <summary>The three shipped sample images the golden file covers.</summary>
    public static readonly string[] Stems = ["ILSVRC2012_val_00000890", "ILSVRC2012_val_00000947", "ILSVRC2012_val_00002255"];

    public GoldenImaging() => Tensors = StateDict.Load(TestPaths.Fixture("Golden", "imaging.safetensors"));

    public StateDict Tensors { get; }

    public Tensor this[string key] => Tensors[key];

    /// <summary>An H×W×3 uint8 golden tensor as an <see cref="RgbImage"/>.</summary>
    public RgbImage Image(string key)
    {
        var t = Tensors[key];
        var shape = t.shape;
        return new RgbImage((int)shape[1], (int)shape[0], t.ToArray<byte>(), key);
    }

    /// <summary>The bytes of a 1-D uint8 golden tensor (the stored JPEG files).</summary>
    public byte[] Bytes(string key) => Tensors[key].ToArray<byte>();

    public void Dispose() => Tensors.Dispose();
}

/// <summary>Paths of the shipped ImageNet validation sample.</summary>
public static class SampleImages
{
    // TODO: drop the /work/shared fallback once data/imagenet-val-sample/images/ is committed in the repository.
    public static string Folder { get; } = Directory.Exists(TestPaths.Repo("data", "imagenet-val-sample", "images"))
        ? TestPaths.Repo("data", "imagenet-val-sample", "images")
        : "/work/shared/data/imagenet-val-sample/images";

    public static string Path(string stem) => System.IO.Path.Combine(Folder, stem + ".JPEG");
}

/// <summary>Comparisons that report the largest difference, so failures say how far off the values are.</summary>
public static class ImagingAssert
{
    public static int MaxByteDifference(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0;
        for (var i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        return max;
    }

    public static double MaxAbsDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0.0;
        for (var i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs((double)expected[i] - actual[i]));
        return max;
    }

    /// <summary>Asserts two images have the same size and identical pixels, naming the largest difference otherwise.</summary>
    public static void SamePixels(RgbImage expected, RgbImage actual, string what)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        var max = MaxByteDifference(expected.Pixels, actual.Pixels);
        Assert.True(max == 0, $"{what}: pixels differ from PIL's by up to {max} levels");
    }
}
