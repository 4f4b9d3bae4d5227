using Harness.Attribution;
using Harness.Models;

namespace Harness.Tests.Attribution;

/// <summary>The registry's names, options and errors.</summary>
public sealed class AttributionRegistryTests : IDisposable
{
    private readonly ClassifierModel _model = ModelZoo.Create("small_cnn", 10);

    public void Dispose() => _model.Dispose();

    private static Dictionary<string, string> Options(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void KnowsTheBaselineMethods()
    {
        Assert.Equal(new[] { "gradient", "gradient_x_input", "gradcam", "smoothgrad", "integrated_gradients", "guided_backprop", "random", "center", "mipin" },
            AttributionMethods.Names);
    }

    [Fact]
    public void UnknownMethodListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => AttributionMethods.Create("saliency", _model));
        Assert.Contains("'saliency'", e.Message);
        Assert.Contains("gradient, gradient_x_input, gradcam", e.Message);
    }

    [Fact]
    public void UnknownOptionListsTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => AttributionMethods.Create("smoothgrad", _model, Options(("sigma", "0.1"))));
        Assert.Contains("sigma", e.Message);
        Assert.Contains("samples, noise_level, seed, reduction, samples_per_pass", e.Message);
        e = Assert.Throws<ArgumentException>(() => AttributionMethods.Create("center", _model, Options(("sigma", "0.1"))));
        Assert.Contains("sigma_fraction", e.Message);
    }

    [Theory]
    [InlineData("gradient", "reduction", "maxabs", "max_abs, sum_abs, sum, l2")]
    [InlineData("smoothgrad", "samples", "0", "an integer in [1, 100000]")]
    [InlineData("smoothgrad", "noise_level", "-0.1", "a number in [0, 100]")]
    [InlineData("random", "seed", "-1", "non-negative integer")]
    [InlineData("integrated_gradients", "rule", "simpson", "trapezoid, left, right, middle")]
    [InlineData("integrated_gradients", "steps", "1", "at least 2")]
    [InlineData("center", "sigma_fraction", "0", "a number in (0, 100]")]
    public void BadOptionValuesSayWhatIsExpected(string method, string key, string value, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => AttributionMethods.Create(method, _model, Options((key, value))));
        Assert.Contains(method, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void OptionsReachTheMethods()
    {
        var s = Assert.IsType<SmoothGradMethod>(AttributionMethods.Create("smoothgrad", _model,
            Options(("samples", "3"), ("noise_level", "0.2"), ("seed", "9"), ("reduction", "l2"), ("samples_per_pass", "2"))));
        Assert.Equal((3, 0.2, 9UL, ChannelReduction.L2Norm, 2), (s.Samples, s.NoiseLevel, s.Seed, s.Reduction, s.SamplesPerPass));
        var ig = Assert.IsType<IntegratedGradientsMethod>(AttributionMethods.Create("integrated_gradients", _model,
            Options(("steps", "10"), ("rule", "middle"), ("baseline", "-1"), ("reduction", "sum_abs"))));
        Assert.Equal((10, IntegrationRule.Middle, -1.0, ChannelReduction.SumAbs), (ig.Steps, ig.Rule, ig.Baseline, ig.Reduction));
        var cam = Assert.IsType<GradCamMethod>(AttributionMethods.Create("gradcam", _model, Options(("layer", "features.2"))));
        Assert.Equal(new[] { "features.2" }, cam.GradientLayers);
        Assert.Equal("features.5", Assert.IsType<GradCamMethod>(AttributionMethods.Create("gradcam", _model)).Layer);
    }

    [Fact]
    public void UnknownGradCamLayerListsTheModelsLayers()
    {
        var e = Assert.Throws<UnknownLayerException>(() => AttributionMethods.Create("gradcam", _model, Options(("layer", "features.9"))));
        Assert.Contains("features.9", e.Message);
        Assert.Contains("features.5", e.Message);
        Assert.Contains("classifier.2", e.Message);
    }

    [Fact]
    public void GradCamDefaultLayers()
    {
        Assert.Equal("features.36", GradCamMethod.DefaultLayer("vgg19"));
        Assert.Equal("features.43", GradCamMethod.DefaultLayer("vgg16_bn"));
        Assert.Equal("layer4", GradCamMethod.DefaultLayer("resnet50"));
        Assert.Equal("features.18", GradCamMethod.DefaultLayer("mobilenet_v2"));
        Assert.Equal("features.12", GradCamMethod.DefaultLayer("alexnet"));
        var e = Assert.Throws<ArgumentException>(() => GradCamMethod.DefaultLayer("mnist_mlp"));
        Assert.Contains("mnist_mlp", e.Message);
        Assert.Contains("vgg19", e.Message);
        Assert.Contains("mobilenet_v2", e.Message);
        // Every default names a layer of its model (the cheap-to-build ones; VGG layers are checked in Python
        // and by the VGG11 golden test).
        foreach (var arch in new[] { "small_cnn", "alexnet", "resnet18", "resnet50", "mobilenet_v2" })
        {
            using var model = ModelZoo.Create(arch);
            var stage = model.StageOf(GradCamMethod.DefaultLayer(arch));
            Assert.NotNull(stage);
        }
        Assert.Equal(ModelZoo.Names.Where(n => n != "mnist_mlp").OrderBy(n => n), GradCamMethod.KnownArchitectures.OrderBy(n => n));
    }

    [Fact]
    public void ChannelReductionNames()
    {
        foreach (var r in Enum.GetValues<ChannelReduction>())
            Assert.Equal(r, ChannelReductions.Parse(ChannelReductions.Name(r)));
        var e = Assert.Throws<ArgumentException>(() => ChannelReductions.Parse("abs"));
        Assert.Contains("max_abs, sum_abs, sum, l2", e.Message);
    }
}

/// <summary>Trainable methods are registered with their training side; the rest need none.</summary>
public sealed class TrainableMethodRegistryTests
{
    [Fact]
    public void OnlyMipInIsTrainableAndItsTrainingSideValidatesWithoutTraining()
    {
        Assert.Equal(new[] { "mipin" }, AttributionMethods.Names.Where(AttributionMethods.IsTrainable));
        Assert.Throws<ArgumentException>(() => AttributionMethods.Training("gradcam"));
        using var probe = ModelZoo.Create("mobilenet_v2", 1000);
        AttributionMethods.Validate("mipin", probe, new Dictionary<string, string> { ["layer"] = "features.17" });
        var layer = Assert.Throws<UnknownLayerException>(() =>
            AttributionMethods.Validate("mipin", probe, new Dictionary<string, string> { ["layer"] = "features.99" }));
        Assert.Contains("features.99", layer.Message);
        var option = Assert.Throws<ArgumentException>(() =>
            AttributionMethods.Validate("mipin", probe, new Dictionary<string, string> { ["epoch"] = "3" }));
        Assert.Contains("epochs", option.Message);
        // Without a training session a trainable method refuses to be built (after its options were checked).
        Assert.Throws<InvalidOperationException>(() => AttributionMethods.Create("mipin", probe));
    }
}
