using Harness.Grains.Models;
using Harness.Tests.Torch;
using Harness.Torch;

namespace Harness.Tests.Models;

/// <summary>
/// Logits of the zoo's models equal torchvision 0.14's for the same weights and inputs
/// (Golden/make_golden_models.py), to 1e-4 relative to the largest logit.
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
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var expected = _golden[$"{name}.logits"];
        var logits = model.forward(_golden[$"{name}.input"]);
        var scale = expected.abs().max().item<double>();
        TensorAssert.Close(expected, logits, rtol: 1e-4, atol: 1e-4 * scale, what: name);
    }
}
