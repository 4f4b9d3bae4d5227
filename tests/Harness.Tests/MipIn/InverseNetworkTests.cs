using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Models;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.MipIn;

/// <summary>Inverse layers on small models: residual blocks, pooling, errors for unsupported cases.</summary>
public sealed class InverseNetworkTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();
    private readonly Generator _generator = new(5);

    public void Dispose()
    {
        _scope.Dispose();
        _generator.Dispose();
    }

    private Tensor Images(int n, int size) => torch.randn(new long[] { n, 3, size, size }, generator: _generator);

    [Theory]
    [InlineData("resnet18", "layer3", 64)]
    [InlineData("mobilenet_v2", "features.14", 64)]
    [InlineData("mobilenet_v2", "features.3", 32)]
    [InlineData("vgg11", "features.10", 32)]
    [InlineData("small_cnn", "features.0", 16)]
    public void TrainsDownToABlockBoundaryAndGivesMaps(string name, string layer, int size)
    {
        using var model = ModelZoo.Create(name, numClasses: 10, seed: 1);
        model.requires_grad_(false);
        var batches = new[] { Images(4, size), Images(4, size) };
        var result = MipInTrainer.Train(model, layer, batches, new MipInTrainingOptions { Epochs = 3, Seed = 2 });
        using var network = result.Network;
        Assert.Equal(model.Stages.Count - 1 - model.IndexOf(layer), network.Inverses.Count);
        foreach (var r in result.Layers.Where(r => r.Trained))
            Assert.True(r.FinalError <= r.InitialError, $"{r.Stage} ({r.Inverse}): {r.InitialError} → {r.FinalError}");
        using var batch = new AttributionBatch(model, batches[0], new long[] { 0, 1, 2, 3 });
        var maps = new MipInMethod(network).Explain(batch);
        Assert.Equal(new long[] { 4, size, size }, maps.shape);
        Assert.True(maps.isfinite().all().item<bool>());
        Assert.True(maps.ge(0).all().item<bool>(), "maps are the positive part");
    }

    [Fact]
    public void TrainingIsDeterministicGivenTheSeed()
    {
        using var model = ModelZoo.Create("small_cnn", numClasses: 10, seed: 1);
        model.requires_grad_(false);
        var batches = new[] { Images(4, 16), Images(4, 16) };
        using var a = MipInTrainer.Train(model, "features.3", batches, new MipInTrainingOptions { Epochs = 2, Seed = 9 }).Network;
        using var b = MipInTrainer.Train(model, "features.3", batches, new MipInTrainingOptions { Epochs = 2, Seed = 9 }).Network;
        foreach (var ((name, x), (_, y)) in a.named_state().Zip(b.named_state()))
            Assert.True(x.equal(y), $"{name} differs between two runs with the same seed");
    }

    [Fact]
    public void RidgeFitsALinearInverseInClosedForm()
    {
        using var model = ModelZoo.Create("mnist_mlp", seed: 3);
        model.requires_grad_(false);
        var x = torch.rand(new long[] { 64, 1, 28, 28 }, generator: _generator);
        var adam = MipInTrainer.Train(model, "relu2", new[] { x }, new MipInTrainingOptions { Epochs = 1, Seed = 1 });
        var ridge = MipInTrainer.Train(model, "relu2", new[] { x }, new MipInTrainingOptions { Optimizer = "ridge", RidgeLambda = 1e-6 });
        using var n1 = adam.Network;
        using var n2 = ridge.Network;
        // The least-squares fit can only be better than one epoch of Adam on the same data.
        Assert.True(ridge.Layers[0].FinalError <= adam.Layers[0].FinalError, $"ridge {ridge.Layers[0].FinalError} vs adam {adam.Layers[0].FinalError}");
    }

    [Fact]
    public void UnknownLayerIsAClearError()
    {
        using var model = ModelZoo.Create("small_cnn", numClasses: 10);
        var e = Assert.Throws<UnknownLayerException>(() => MipInTrainer.Train(model, "features.9", new[] { Images(2, 16) }, new MipInTrainingOptions()));
        Assert.Contains("Valid layers", e.Message);
    }

    private sealed class Swish : Module
    {
        public override Tensor forward(Tensor input) => input * input.sigmoid();
    }

    private sealed class SwishNet : ClassifierModel
    {
        public SwishNet() : base("swish_net", 3)
        {
            AddStage("flatten", new Flatten());
            AddStage("fc1", RegisterModule("fc1", new Linear(12, 8)));
            AddStage("act", new Swish());
            AddStage("fc2", RegisterModule("fc2", new Linear(8, 3)));
        }
    }

    [Fact]
    public void LayerTypeWithoutAnInverseIsAClearError()
    {
        using var model = new SwishNet();
        var e = Assert.Throws<NotSupportedException>(() =>
            MipInTrainer.Train(model, "flatten", new[] { torch.rand(new long[] { 2, 3, 2, 2 }) }, new MipInTrainingOptions()));
        Assert.Contains("act (Swish)", e.Message);
        Assert.Contains("supported:", e.Message);
    }

    [Fact]
    public void MipInWithoutAnInverseProviderExplainsWhatIsMissing()
    {
        using var model = ModelZoo.Create("small_cnn", numClasses: 10);
        var e = Assert.Throws<InvalidOperationException>(() => AttributionMethods.Create("mipin", model));
        Assert.Contains("mipin explain", e.Message);
        Assert.Throws<ArgumentException>(() => AttributionMethods.Create("mipin", model, new Dictionary<string, string> { ["map"] = "bogus" }));
    }
}
