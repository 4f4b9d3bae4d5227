using Harness.Data.Imaging;

namespace Harness.Tests.Imaging;

public sealed class PreprocessConfigTests
{
    [Fact]
    public void PresetsHoldTheTorchvisionValues()
    {
        var imagenet = PreprocessConfig.ImageNet;
        Assert.Equal((256, 224), (imagenet.ResizeSize, imagenet.CropSize));
        Assert.Equal(new[] { 0.485f, 0.456f, 0.406f }, imagenet.Mean);
        Assert.Equal(new[] { 0.229f, 0.224f, 0.225f }, imagenet.Std);
        var coral = PreprocessConfig.MobileNetV2Coral;
        Assert.Equal((224, 224), (coral.ResizeSize, coral.CropSize));
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f }, coral.Mean);
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f }, coral.Std);
    }

    [Fact]
    public void EqualityComparesValuesAndTheConfigCannotBeMutatedThroughItsArrays()
    {
        Assert.Equal(PreprocessConfig.ImageNet, PreprocessConfig.ImageNet);
        Assert.Equal(PreprocessConfig.ImageNet.GetHashCode(), PreprocessConfig.ImageNet.GetHashCode());
        Assert.NotEqual(PreprocessConfig.ImageNet, PreprocessConfig.MobileNetV2Coral);
        var mean = new[] { 0.1f, 0.2f, 0.3f };
        var config = new PreprocessConfig(10, 8, mean, [1f, 1f, 1f]);
        mean[0] = 9;
        config.Mean[1] = 9;
        Assert.Equal(new[] { 0.1f, 0.2f, 0.3f }, config.Mean);
        Assert.Contains("CropSize = 8", config.ToString());
    }

    [Theory]
    [InlineData(0, 224, "ResizeSize")]
    [InlineData(256, -1, "CropSize")]
    public void NonPositiveSizesAreRejected(int resize, int crop, string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new PreprocessConfig(resize, crop, [0, 0, 0], [1, 1, 1]));
        Assert.Equal(name, e.ParamName);
        Assert.Contains("positive", e.Message);
        Assert.Throws<ArgumentException>(() => PreprocessConfig.ImageNet with { CropSize = 0 });
    }

    [Fact]
    public void ChannelValuesAreChecked()
    {
        var e = Assert.Throws<ArgumentException>(() => new PreprocessConfig(256, 224, [0.5f, 0.5f], [1, 1, 1]));
        Assert.Contains("Mean needs 3 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => new PreprocessConfig(256, 224, [0, 0, 0], [1, 0, 1]));
        Assert.Contains("Std", e.Message);
        Assert.Contains("> 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new PreprocessConfig(256, 224, [0, float.NaN, 0], [1, 1, 1]));
        Assert.Contains("finite", e.Message);
        Assert.Throws<ArgumentException>(() => new PreprocessConfig(256, 224, null!, [1, 1, 1]));
    }
}
