using Harness.Models;
using Harness.Tests.Torch;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.Models;

/// <summary>
/// Forward passes without autograd (and, with <see cref="BlockedPasses.All"/>, recorded ones) run residual blocks in
/// oneDNN's blocked layout (<see cref="BlockedRun"/>). Against
/// the same pass run channels-last (every convolution the kernel PyTorch runs, bit-identical to it: LayerTapTests), the
/// logits and the activations a caller asks for must agree up to float rounding (the blocked kernels add the input
/// channels in another order): within 1e-5 of their largest value. Passes that record, models without residual blocks
/// and runs cut short by captured stages must take the paths the rules say.
/// </summary>
public sealed class BlockedRunTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    private static void SkipUnlessAvailable()
    {
        BlockedActivationTests.SkipUnlessAvailable();
        Skip.If(ConvolutionAlgorithm.Current == ConvolutionKind.Winograd, "Winograd convolutions run channels-last");
    }

    private static ClassifierModel Frozen(string name)
    {
        var model = ModelZoo.Create(name, seed: 7);
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
        return model;
    }

    private static Tensor Images(long count = 6)
    {
        using var g = new Generator(7);
        return torch.randn(new long[] { count, 3, 64, 64 }, generator: g).mul(4);
    }

    private static void AssertAgree(Tensor channelsLast, Tensor blocked, string what)
    {
        var scale = channelsLast.abs().max().item<float>();
        var difference = (channelsLast - blocked).abs().max().item<float>();
        Assert.True(difference <= 1e-5f * scale, $"{what}: blocked run differs by {difference:E2}, largest value {scale:E2}");
    }

    [SkippableTheory]
    [InlineData("mobilenet_v2", "features.18", 3 + 17 + 3)]  // all of features: stem, 17 blocks, head
    [InlineData("resnet18", "layer4", 8)]                        // layer1.0 … layer4.1 (the stem ends at its max pool)
    [InlineData("resnet50", "layer4", 16)]
    public void APassWithoutAutogradRunsItsBlocksBlockedWithTheSameValues(string name, string layer, int blockedStages)
    {
        SkipUnlessAvailable();
        using var model = Frozen(name);
        var x = Images();
        using var noGrad = torch.no_grad();
        Tensor logits, activation;
        using (BlockedActivation.Override(false))
        {
            logits = model.forward(x);
            activation = model.ForwardTo(x, layer);
        }
        using (BlockedActivation.Override(true))
        {
            var before = BlockedRun.StagesRunOnThisThread;
            AssertAgree(logits, model.forward(x), "logits");
            Assert.Equal(blockedStages, BlockedRun.StagesRunOnThisThread - before);
            var blocked = model.ForwardTo(x, layer);
            Assert.True(blocked.is_contiguous(MemoryFormat.ChannelsLast));
            AssertAgree(activation, blocked, layer);
            Assert.Equal(2L * blockedStages, BlockedRun.StagesRunOnThisThread - before);
        }
    }

    [SkippableFact]
    public void ACapturedStageEndsARunAndKeepsItsValue()
    {
        SkipUnlessAvailable();
        using var model = Frozen("mobilenet_v2");
        var x = Images();
        using var noGrad = torch.no_grad();
        var layers = new[] { "features.6", "features.7", "features.15" };
        (Tensor Logits, IReadOnlyDictionary<string, Tensor> Activations) expected;
        using (BlockedActivation.Override(false)) expected = model.Capture(x, layers);
        using var on = BlockedActivation.Override(true);
        var before = BlockedRun.StagesRunOnThisThread;
        var (logits, captured) = model.Capture(x, layers);
        // Runs: features.0.0 … features.6 (3 + 6 stages); features.7 alone is one block (too few: channels-last);
        // features.8 … features.15 (8 blocks); features.16 … features.18.2 (2 blocks and the head's 3 stages).
        Assert.Equal(9 + 8 + 5, BlockedRun.StagesRunOnThisThread - before);
        AssertAgree(expected.Logits, logits, "logits");
        foreach (var layer in layers) AssertAgree(expected.Activations[layer], captured[layer], layer);
    }

    [SkippableFact]
    public void APassFromALayerLeavesTheCallersActivationAsItWas()
    {
        // ForwardFrom starts a run on the caller's activation: its blocked copy takes the blocks' in-place sums.
        SkipUnlessAvailable();
        using var model = Frozen("mobilenet_v2");
        using var noGrad = torch.no_grad();
        var activation = model.ForwardTo(Images(), "features.2");
        var before = activation.clone();
        Tensor expected;
        using (BlockedActivation.Override(false)) expected = model.ForwardFrom(activation, "features.2");
        using var on = BlockedActivation.Override(true);
        var stages = BlockedRun.StagesRunOnThisThread;
        AssertAgree(expected, model.ForwardFrom(activation, "features.2"), "logits from features.2");
        Assert.Equal(15 + 3, BlockedRun.StagesRunOnThisThread - stages);  // features.3 … features.17, the head
        Assert.True(activation.equal(before), "the caller's activation is unchanged");
    }

    [SkippableFact]
    public void SwitchingBetweenBlockedAndRecordedPassesChangesNoValue()
    {
        // The cache keeps a weight for one family of kernels at a time (Torch/FrozenConvolutionCacheTests): each switch
        // reorders the weights again, which must give the same values.
        SkipUnlessAvailable();
        using var model = Frozen("resnet18");
        var x = Images(4);
        using var on = BlockedActivation.Override(true);
        Tensor first;
        using (torch.no_grad()) first = model.forward(x);
        var recorded = model.forward(x.detach().requires_grad_());
        recorded.sum().backward();
        using (torch.no_grad())
            Assert.True(model.forward(x).equal(first), "blocked logits after a recorded pass");
        Assert.True(model.forward(x.detach().requires_grad_()).detach().equal(recorded.detach()), "recorded logits after a blocked pass");
    }

    [SkippableTheory]
    [InlineData("mobilenet_v2", 17 + 3)]  // from features.1: the stem's input is the image
    [InlineData("resnet18", 8)]
    public void WithAllPassesARecordedPassRunsItsBlocksBlockedAndGivesTheInputGradient(string name, int blockedStages)
    {
        // Against the channels-last pass (PyTorch's kernels). Rounding moves a few pre-activations across a ReLU or ReLU6
        // kink, and each such gate changes its path's share of the input gradient at a few pixels, so the bound is the
        // one BlockedPasses.All states (1% of the largest value), with the two gradients as a whole nearly parallel.
        SkipUnlessAvailable();
        using var model = Frozen(name);
        var x = Images(4);
        Tensor InputGradient(BlockedPasses passes, out long stages)
        {
            using var setting = BlockedActivation.Override(passes);
            var before = BlockedRun.StagesRunOnThisThread;
            var leaf = x.detach().requires_grad_();
            var logits = model.forward(leaf);
            var gradient = torch.autograd.grad(new[] { logits.narrow(1, 0, 1).sum() }, new[] { leaf })[0]!;
            stages = BlockedRun.StagesRunOnThisThread - before;
            return gradient;
        }
        var expected = InputGradient(BlockedPasses.WithoutAutograd, out var channelsLastStages);
        var actual = InputGradient(BlockedPasses.All, out var stages);
        Assert.Equal(0, channelsLastStages);
        Assert.Equal(blockedStages, stages);
        var scale = expected.abs().max().item<float>();
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= 1e-2f * scale, $"input gradients differ by {difference:E2}, largest value {scale:E2}");
        var a = expected.flatten().to(ScalarType.Float64);
        var b = actual.flatten().to(ScalarType.Float64);
        var cosine = ((a * b).sum() / (a.norm() * b.norm())).item<double>();
        Assert.True(cosine > 0.9999, $"cosine similarity {cosine}");
    }

    [SkippableFact]
    public void RecordedPassesContiguousModelsAndModelsWithoutResidualBlocksRunAsBefore()
    {
        SkipUnlessAvailable();
        using var on = BlockedActivation.Override(true);
        var before = BlockedRun.StagesRunOnThisThread;
        using (var vgg = Frozen("vgg11"))
        using (torch.no_grad())
            vgg.forward(Images(2));
        using (var mobilenet = Frozen("mobilenet_v2"))
        {
            Assert.True(mobilenet.forward(Images(2).requires_grad_()).requires_grad);
            mobilenet.UseMemoryFormat(MemoryFormat.Contiguous);  // every op as PyTorch eager runs it
            using (torch.no_grad())
                Assert.True(mobilenet.ForwardTo(Images(2), "features.18").is_contiguous(), "a contiguous model's layer stays contiguous");
        }
        using (var training = Frozen("resnet18"))  // batch norms in training mode do not fold
        using (torch.no_grad())
        {
            training.train();
            training.forward(Images(2));
        }
        Assert.Equal(0, BlockedRun.StagesRunOnThisThread - before);
    }
}
