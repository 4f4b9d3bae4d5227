using Harness.Attribution;
using Harness.Models;
using Harness.Tests.Models;
using Harness.Tests.Torch;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.Attribution;

/// <summary>
/// Properties of the methods on small random-weight models: completeness of Integrated Gradients, SmoothGrad's
/// limits and seeding, the random and centre baselines, one shared gradient pass, and shapes for every method.
/// Inputs and weights come from seeded generators of their own, so the tests may run beside others.
/// </summary>
public sealed class AttributionMethodTests : IDisposable
{
    private static readonly long[] Targets = { 0, 3, 5, 9 };
    private readonly ITestOutputHelper _output;
    private readonly ClassifierModel _model;
    private readonly Tensor _images;

    public AttributionMethodTests(ITestOutputHelper output)
    {
        _output = output;
        _model = ModelZoo.Create("small_cnn", 10);
        DeterministicWeights.Fill(_model, 7);
        using var generator = new Generator(11);
        _images = torch.randn(new long[] { 4, 3, 16, 12 }, generator: generator).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _images.Dispose();
        _model.Dispose();
    }

    private Tensor Explain(IAttributionMethod method, Tensor? images = null, long[]? targets = null)
    {
        using var batch = new AttributionBatch(_model, images ?? _images, targets ?? Targets, new[] { method });
        return method.Explain(batch);
    }

    [Theory]
    [InlineData(64, 0.02)]
    [InlineData(1024, 0.002)]
    public void IntegratedGradientsIsComplete(int steps, double tolerance)
    {
        // Σ IG = y_t(x) − y_t(0) up to the quadrature error, which for a ReLU network comes from the kinks crossed
        // along the path and shrinks like 1/steps. Targets are the predicted classes, so that y_t(x) − y_t(0) is not
        // close to 0 (the error is relative to it).
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var images = torch.randn(new long[] { 4, 3, 32, 32 }, generator: generator);
        long[] predicted;
        using (torch.no_grad()) predicted = _model.forward(images).argmax(1).ToArray<long>();
        var total = Explain(new IntegratedGradientsMethod(steps, stepsPerPass: 16), images, predicted).sum(new[] { 1L, 2L }).ToArray<float>();
        using var noGrad = torch.no_grad();
        var index = torch.tensor(predicted).unsqueeze(1);
        var fx = _model.forward(images).gather(1, index).squeeze(1).ToArray<float>();
        var f0 = _model.forward(torch.zeros_like(images)).gather(1, index).squeeze(1).ToArray<float>();
        for (var b = 0; b < predicted.Length; b++)
        {
            var delta = fx[b] - f0[b];
            var error = Math.Abs(total[b] - delta) / Math.Abs(delta);
            _output.WriteLine($"{steps} steps, image {b}: Σ IG = {total[b]:G6}, f(x) − f(0) = {delta:G6}, relative error {error:G3}");
            Assert.True(error <= tolerance, $"image {b}: Σ IG = {total[b]}, f(x) − f(0) = {delta} (relative error {error:G3})");
        }
    }

    [Fact]
    public void IntegratedGradientsChunkingAndRules()
    {
        using var scope = torch.NewDisposeScope();
        var one = Explain(new IntegratedGradientsMethod(steps: 8));
        var chunked = Explain(new IntegratedGradientsMethod(steps: 8, stepsPerPass: 3));
        TensorAssert.Close(one, chunked, rtol: 1e-4, atol: 1e-6, what: "steps_per_pass 3 vs 1");
        var (alphas, weights) = IntegratedGradientsMethod.Quadrature(IntegrationRule.Trapezoid, 5);
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1 }, alphas);
        Assert.Equal(new[] { 0.125, 0.25, 0.25, 0.25, 0.125 }, weights);
        foreach (var rule in Enum.GetValues<IntegrationRule>())
            Assert.Equal(1.0, IntegratedGradientsMethod.Quadrature(rule, 7).Weights.Sum(), 12);
    }

    [Fact]
    public void SmoothGradWithoutNoiseIsTheGradient()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var reduction in Enum.GetValues<ChannelReduction>())
        {
            var gradient = Explain(new GradientMethod(reduction));
            var smooth = Explain(new SmoothGradMethod(samples: 1, noiseLevel: 0, reduction: reduction));
            TensorAssert.Close(gradient, smooth, rtol: 1e-6, atol: 1e-9, what: $"smoothgrad n=1 σ=0, {reduction}");
        }
    }

    [Fact]
    public void SmoothGradIsSeeded()
    {
        using var scope = torch.NewDisposeScope();
        var a = Explain(new SmoothGradMethod(samples: 4, seed: 5));
        var b = Explain(new SmoothGradMethod(samples: 4, seed: 5));
        var c = Explain(new SmoothGradMethod(samples: 4, seed: 6));
        var chunked = Explain(new SmoothGradMethod(samples: 4, seed: 5, samplesPerPass: 3));
        TensorAssert.Equal(a, b, "same seed");
        Assert.True(MapAssert.RelativeMaxDifference(a, c) > 1e-2, "different seeds gave (nearly) the same maps");
        TensorAssert.Close(a, chunked, rtol: 1e-4, atol: 1e-6, what: "samples_per_pass 3 vs 1");
        var gradient = Explain(new GradientMethod());
        Assert.True(MapAssert.RelativeMaxDifference(gradient, a) > 1e-2, "noise had no effect");
        // The noise follows the image, not its position in the batch.
        var order = torch.tensor(new long[] { 2, 0, 3, 1 });
        var permuted = Explain(new SmoothGradMethod(samples: 4, seed: 5), _images.index_select(0, order),
            order.ToArray<long>().Select(i => Targets[i]).ToArray());
        TensorAssert.Close(a.index_select(0, order), permuted, rtol: 1e-5, atol: 1e-7, what: "permuted batch");
    }

    [Fact]
    public void RandomIsSeededUniformAndPerImage()
    {
        using var scope = torch.NewDisposeScope();
        var a = Explain(new RandomMethod(seed: 1));
        Assert.Equal(new long[] { 4, 16, 12 }, a.shape);
        Assert.Equal(ScalarType.Float32, a.dtype);
        TensorAssert.Equal(a, Explain(new RandomMethod(seed: 1)), "same seed");
        Assert.False(a.equal(Explain(new RandomMethod(seed: 2))), "different seeds gave the same maps");
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() < 1, "values outside [0, 1)");
        var mean = a.mean().item<float>();
        Assert.InRange(mean, 0.45, 0.55);
        // Independent of batch position; different for another target class of the same image.
        var order = torch.tensor(new long[] { 3, 1, 0, 2 });
        var permuted = Explain(new RandomMethod(seed: 1), _images.index_select(0, order),
            order.ToArray<long>().Select(i => Targets[i]).ToArray());
        TensorAssert.Equal(a.index_select(0, order), permuted, "permuted batch");
        var otherTargets = Explain(new RandomMethod(seed: 1), targets: new long[] { 1, 3, 5, 9 });
        Assert.False(a[0].equal(otherTargets[0]), "another target class gave the same map");
        TensorAssert.Equal(a[1], otherTargets[1], "same image and target");
        Assert.False(a[0].equal(a[1]), "two images share a map");
    }

    [Fact]
    public void CenterIsACentredSymmetricGaussian()
    {
        using var scope = torch.NewDisposeScope();
        var images = torch.zeros(new long[] { 3, 3, 15, 21 });
        var map = Explain(new CenterGaussianMethod(), images, new long[] { 0, 1, 2 });
        Assert.Equal(new long[] { 3, 15, 21 }, map.shape);
        Assert.Equal(7 * 21 + 10, map[0].argmax().item<long>());
        Assert.Equal(1f, map[0, 7, 10].item<float>());
        TensorAssert.Equal(map, map.flip(1), "vertical symmetry");
        TensorAssert.Equal(map, map.flip(2), "horizontal symmetry");
        TensorAssert.Equal(map[0], map[2], "same map for every image");
        // σ = 0.25 · min(H, W): one σ from the centre along x the value is exp(−1/2).
        var sigma = 0.25 * 15;
        var atSigma = Math.Exp(-(3.75 * 3.75) / (2 * sigma * sigma));
        Assert.Equal(atSigma, Math.Exp(-0.5), 12);
        var even = Explain(new CenterGaussianMethod(0.1), torch.zeros(new long[] { 1, 3, 8, 10 }), new long[] { 0 });
        TensorAssert.Equal(even, even.flip(1), "even height symmetry");
        TensorAssert.Equal(even, even.flip(2), "even width symmetry");
    }

    [Fact]
    public void SharedPassServesGradientGradCamAndGradientTimesInput()
    {
        using var scope = torch.NewDisposeScope();
        IAttributionMethod[] Make() => new IAttributionMethod[]
            { new GradientMethod(), GradCamMethod.For(_model), new GradientTimesInputMethod() };
        var shared = Make();
        using var batch = new AttributionBatch(_model, _images, Targets, shared);
        var first = shared[0].Explain(batch);
        var pass = batch.Gradients;
        var maps = new[] { first, shared[1].Explain(batch), shared[2].Explain(batch) };
        Assert.Same(pass, batch.Gradients);
        Assert.NotNull(pass.InputGradient);
        Assert.True(pass.Layers.ContainsKey("features.5"));
        var alone = Make();
        for (var i = 0; i < alone.Length; i++)
            TensorAssert.Close(Explain(alone[i]), maps[i], rtol: 1e-6, atol: 1e-9, what: alone[i].Name);
    }

    [Fact]
    public void ABatchSplitIntoSeveralGradientPassesGivesEachImagesOwnMaps()
    {
        // 19 images run as passes of 7, 6 and 6 (GradientPass.MaxImagesPerPass = 8); each image's maps must equal those
        // of a batch holding that image alone, up to float rounding (batch-1 kernels sum in another order).
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var images = torch.randn(new long[] { 19, 3, 16, 12 }, generator: generator);
        var targets = Enumerable.Range(0, 19).Select(i => (long)(i * 3 % 10)).ToArray();
        IAttributionMethod[] Make() => new IAttributionMethod[] { new GradientMethod(), GradCamMethod.For(_model) };
        var methods = Make();
        using var batch = new AttributionBatch(_model, images, targets, methods);
        var maps = methods.Select(m => m.Explain(batch)).ToArray();
        Assert.Equal(19, batch.Gradients.Logits.size(0));
        for (var i = 0; i < 19; i++)
        {
            var single = Make();
            using var one = new AttributionBatch(_model, images.narrow(0, i, 1), new[] { targets[i] }, single);
            for (var m = 0; m < single.Length; m++)
                TensorAssert.Close(single[m].Explain(one), maps[m].narrow(0, i, 1), rtol: 1e-4, atol: 1e-7, what: $"{single[m].Name}, image {i}");
        }
    }

    [Fact]
    public void UnregisteredMethodFailsClearly()
    {
        using var batch = new AttributionBatch(_model, _images, Targets);
        var e = Assert.Throws<InvalidOperationException>(() => new GradientMethod().Explain(batch));
        Assert.Contains("Register", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => GradCamMethod.For(_model).Explain(batch));
        Assert.Contains("features.5", e.Message);
    }

    [Fact]
    public void EveryMethodGivesFloatMapsAtInputResolution()
    {
        // MIP-IN needs a trained inverse (an IInverseProvider); tests under MipIn/ cover it.
        foreach (var name in AttributionMethods.Names.Where(n => n != "mipin"))
        {
            using var scope = torch.NewDisposeScope();
            var options = name switch
            {
                "smoothgrad" => new Dictionary<string, string> { ["samples"] = "2" },
                "integrated_gradients" => new Dictionary<string, string> { ["steps"] = "4" },
                _ => null,
            };
            var method = AttributionMethods.Create(name, _model, options);
            Assert.Equal(name, method.Name);
            var map = Explain(method);
            Assert.True(scope.Count == 1, $"{name}: {scope.Count - 1} temporaries leaked into the caller's scope");
            Assert.Equal(new long[] { 4, 16, 12 }, map.shape);
            Assert.Equal(ScalarType.Float32, map.dtype);
            Assert.True(map.ToArray<float>().All(float.IsFinite), $"{name}: non-finite values");
        }
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void GuidedBackpropRunsThroughResidualBlocks(string architecture)
    {
        using var model = ModelZoo.Create(architecture);
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(5);
        var images = torch.randn(new long[] { 2, 3, 32, 32 }, generator: generator);
        var method = new GuidedBackpropMethod();
        using var batch = new AttributionBatch(model, images, new long[] { 1, 2 }, new[] { method });
        var map = method.Explain(batch);
        Assert.Equal(new long[] { 2, 32, 32 }, map.shape);
        Assert.True(map.max().item<float>() > 0);
    }
}
