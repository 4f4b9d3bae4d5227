using Harness.Models;
using Harness.Tests.Torch;
using Harness.Torch;

namespace Harness.Tests.Models;

/// <summary>
/// Logits of the zoo's models equal torchvision 0.14's for the same weights and inputs
/// (Golden/make_golden_models.py), to 1e-4 relative to the largest logit: as built (trainable, contiguous: every op
/// runs on its own), and frozen in channels-last layout (conv + BN pairs folded, in-place rectifiers, the layout
/// ModelZoo.Load uses on the CPU). The golden weights fill every batch-norm statistic with non-trivial values, so a
/// wrong fold shows.
/// </summary>
public sealed class ModelGoldenTests : IDisposable
{
    private readonly StateDict _golden = torch.load(TestPaths.Fixture("Golden", "models.safetensors"));

    public void Dispose() => _golden.Dispose();

    [Theory]
    [InlineData("vgg19", 101)]
    [InlineData("resnet50", 102)]
    [InlineData("mobilenet_v2", 103)]
    [InlineData("alexnet", 104)]
    [InlineData("vgg11_bn", 105)]
    [InlineData("resnet18", 106)]
    public void LogitsMatchTorchvision(string name, ulong seed)
    {
        using var model = ModelZoo.Create(name);
        DeterministicWeights.Fill(model, seed);
        AssertLogits(_golden, model, name);
        Freeze(model);
        AssertLogits(_golden, model, name + " frozen, channels-last");
    }

    // The input gradient of a ReLU network is constant inside each linear region, so float rounding (the fold, the
    // layout) can only change it where a pre-activation sits within rounding of a kink: with these weights one ResNet-18
    // pre-activation in layer1.0 is 4.6e-7 (of values up to 7), and its flipped mask moves the gradient of the ~1000
    // input elements under it; MobileNetV2's ReLU6 outputs saturate often (torchvision's own gradient changes by 3.7%
    // when the input is scaled by 1 + 1e-6 noise). So: most elements exactly as torchvision, and the whole map
    // aligned with it.
    [Theory]
    [InlineData("resnet18", 106, 0.9)]
    [InlineData("mobilenet_v2", 103, 0.5)]
    public void InputGradientOfFrozenChannelsLastModelMatchesTorchvision(string name, ulong seed, double minAgreeing)
    {
        using var model = ModelZoo.Create(name);
        DeterministicWeights.Fill(model, seed);
        Freeze(model);
        AssertInputGradient(_golden, model, name, minAgreeing);
    }

    /// <summary>Frozen (no parameter requires grad) and channels-last: the layout ModelZoo.Load uses on the CPU.</summary>
    internal static void Freeze(ClassifierModel model)
    {
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
    }

    /// <summary>The model's logits for the golden input of <paramref name="name"/> ("resnet50 ..."): within 1e-4 of
    /// torchvision's, relative to the largest.</summary>
    internal static void AssertLogits(StateDict golden, ClassifierModel model, string name)
    {
        var key = name.Split(' ')[0];
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var expected = golden[$"{key}.logits"];
        var logits = model.forward(golden[$"{key}.input"]);
        var scale = expected.abs().max().item<double>();
        TensorAssert.Close(expected, logits, rtol: 1e-4, atol: 1e-4 * scale, what: name);
    }

    /// <summary>The gradient of logit 7 w.r.t. the golden input: at least <paramref name="minAgreeing"/> of the
    /// elements within 1e-4 of torchvision's, and cosine similarity above 0.999 (why not all: the comment above).</summary>
    internal static void AssertInputGradient(StateDict golden, ClassifierModel model, string name, double minAgreeing)
    {
        using var scope = torch.NewDisposeScope();
        var x = golden[$"{name}.input"].detach();
        x.requires_grad = true;
        var logits = model.forward(x);
        var grad = torch.autograd.grad(new[] { logits.select(1, 7).sum() }, new[] { x })[0]!;
        var expected = golden[$"{name}.input_grad"];
        var tolerance = 1e-4 * expected.abs().max().item<double>() + 1e-4 * expected.abs();
        var agreeing = ((grad - expected).abs() <= tolerance).to(ScalarType.Float64).mean().item<double>();
        var cosine = ((grad * expected).sum() / (grad.norm() * expected.norm())).item<double>();
        Assert.True(agreeing >= minAgreeing, $"{name}: cosine {cosine:F5}; {agreeing:P1} of the input gradient within 1e-4 of torchvision's (need {minAgreeing:P0})");
        Assert.True(cosine > 0.999, $"{name}: cosine similarity with torchvision's input gradient {cosine:F5} (need > 0.999)");
    }
}
