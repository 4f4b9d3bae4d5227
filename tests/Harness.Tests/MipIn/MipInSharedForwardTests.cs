using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Models;
using Harness.Tests.Torch;
using Harness.Torch;

namespace Harness.Tests.MipIn;

/// <summary>
/// MIP-IN registered on a batch reads the batch's one forward pass (from the shared gradient pass when another method
/// needs it, split into passes of at most <see cref="GradientPass.MaxImagesPerPass"/> images) and computes its source
/// signal once per batch: the maps and source signals equal those of MIP-IN run alone on its own forward pass.
/// </summary>
public sealed class MipInSharedForwardTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Theory]
    [InlineData("mobilenet_v2", "features.14", 19)] // 19 images: three gradient passes of 7, 6 and 6
    [InlineData("resnet18", "layer3", 5)]
    public void SharedForwardGivesTheMapsOfMipInAlone(string name, string layer, int images)
    {
        using var model = ModelZoo.Create(name, numClasses: 10, seed: 1);
        model.requires_grad_(false);
        using var generator = new Generator(3);
        var x = torch.randn(new long[] { images, 3, 64, 64 }, generator: generator);
        var targets = Enumerable.Range(0, images).Select(i => (long)(i * 7 % 10)).ToArray();
        using var network = MipInTrainer.Train(model, layer, new[] { x }, new MipInTrainingOptions { Epochs = 1, Seed = 2 }).Network;

        var mipin = new MipInMethod(network);
        using var alone = new AttributionBatch(model, x, targets); // not registered: MIP-IN runs its own forward
        var expected = mipin.Explain(alone);
        var (expectedSource, _) = mipin.SourceSignals(alone);

        var methods = new IAttributionMethod[] { mipin, new GradientMethod(), GradCamMethod.For(model) };
        using var shared = new AttributionBatch(model, x, targets, methods);
        var map = mipin.Explain(shared);
        Assert.Equal(network.RequiredStages.Order(), shared.Gradients.Activations.Keys.Order());
        TensorAssert.Close(expected, map, rtol: 1e-5, atol: 1e-7, what: "map from the shared forward");
        var (source, _) = mipin.SourceSignals(shared);
        TensorAssert.Close(expectedSource, source, rtol: 1e-5, atol: 1e-7, what: "source signal from the shared forward");
        TensorAssert.Close(map, mipin.Explain(shared), rtol: 0, atol: 0, what: "second call reads the cached source signal");
    }

    [Fact]
    public void ALayerBelowTheLowestGradientLayerIsNotRecordedAndMipInRunsItsOwnForward()
    {
        // Grad-CAM alone records no graph below its layer (features.18); MIP-IN at features.14 needs stages below it, so
        // the shared pass leaves them out and MIP-IN falls back to a forward of its own: same maps.
        using var model = ModelZoo.Create("mobilenet_v2", numClasses: 10, seed: 1);
        model.requires_grad_(false);
        using var generator = new Generator(4);
        var x = torch.randn(new long[] { 3, 3, 64, 64 }, generator: generator);
        var targets = new long[] { 1, 4, 7 };
        using var network = MipInTrainer.Train(model, "features.14", new[] { x }, new MipInTrainingOptions { Epochs = 1, Seed = 2 }).Network;
        var mipin = new MipInMethod(network);
        using var alone = new AttributionBatch(model, x, targets);
        var expected = mipin.Explain(alone);
        using var shared = new AttributionBatch(model, x, targets, new IAttributionMethod[] { mipin, new GradCamMethod("features.18") });
        var map = mipin.Explain(shared);
        Assert.DoesNotContain(model.Stages[model.IndexOf("features.14")].Name, shared.Gradients.Activations.Keys);
        TensorAssert.Close(expected, map, rtol: 1e-5, atol: 1e-7, what: "map with its own forward");
    }

    [Theory]
    [InlineData(1, new long[] { 1 })]
    [InlineData(8, new long[] { 8 })]
    [InlineData(9, new long[] { 5, 4 })]
    [InlineData(25, new long[] { 7, 6, 6, 6 })]
    [InlineData(50, new long[] { 8, 7, 7, 7, 7, 7, 7 })]
    public void GradientPassesSplitABatchIntoNearEqualParts(long size, long[] lengths)
    {
        var chunks = GradientPass.Chunks(size);
        Assert.Equal(lengths, chunks.Select(c => c.Length));
        Assert.Equal(Enumerable.Range(0, lengths.Length).Select(i => lengths.Take(i).Sum()), chunks.Select(c => c.Start));
    }
}
