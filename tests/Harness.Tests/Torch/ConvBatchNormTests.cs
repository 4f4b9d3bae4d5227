using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.Torch;

/// <summary>
/// Conv + eval BN folding (Modules/ConvBatchNorm.cs), channels-last layout and in-place rectifiers in Sequential:
/// hand-computed values, when folding must not happen, and that cached folded weights follow changed statistics.
/// (Whole models against torchvision: Models/ModelGoldenTests.)
/// </summary>
public sealed class ConvBatchNormTests
{
    // A 1×1 convolution of one channel: x = 2, w = 3, b = 1 → 7. BN with γ = 2, β = 0.5, μ = 1, σ² = 3, ε = 1:
    // (7 − 1) / √(3 + 1) · 2 + 0.5 = 6.5.
    private static (Conv2d Conv, BatchNorm2d Bn) HandPair()
    {
        var conv = new Conv2d(1, 1, 1);
        var bn = new BatchNorm2d(1, eps: 1.0);
        using var noGrad = torch.no_grad();
        conv.weight.fill_(3);
        conv.bias!.fill_(1);
        bn.weight.fill_(2);
        bn.bias.fill_(0.5);
        bn.running_mean.fill_(1);
        bn.running_var.fill_(3);
        conv.requires_grad_(false);
        bn.requires_grad_(false);
        bn.eval();
        return (conv, bn);
    }

    [Fact]
    public void FoldedPairGivesTheHandComputedValue()
    {
        var (conv, bn) = HandPair();
        using (conv)
        using (bn)
        using (var scope = torch.NewDisposeScope())
        {
            Assert.True(ConvBatchNorm.CanFold(conv, bn));
            var x = torch.full(new long[] { 1, 1, 2, 2 }, 2.0);
            TensorAssert.Values(new[] { 6.5f, 6.5f, 6.5f, 6.5f }, ConvBatchNorm.Forward(conv, bn, x).flatten());
        }
    }

    [Fact]
    public void FoldedWeightsFollowStatisticsChangedInPlace()
    {
        var (conv, bn) = HandPair();
        using (conv)
        using (bn)
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.full(new long[] { 1, 1, 1, 1 }, 2.0);
            TensorAssert.Values(new[] { 6.5f }, ConvBatchNorm.Forward(conv, bn, x).flatten());
            using (torch.no_grad()) bn.running_mean.fill_(3); // as load_state_dict's copy_ would: (7 − 3) / 2 · 2 + 0.5
            TensorAssert.Values(new[] { 4.5f }, ConvBatchNorm.Forward(conv, bn, x).flatten());
        }
    }

    [Fact]
    public void FoldedWeightsFollowStatisticsATrainingPassUpdated()
    {
        // A training-mode batch_norm updates running_mean/var inside the kernel without bumping their version, so the
        // fold cached before it must be dropped. BN input 7 everywhere: batch mean 7, variance 0, momentum 0.1 →
        // μ = 0.9·1 + 0.1·7 = 1.6, σ² = 0.9·3 = 2.7; eval: (7 − 1.6) / √(2.7 + 1) · 2 + 0.5 = 6.114653.
        var (conv, bn) = HandPair();
        using (conv)
        using (bn)
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.full(new long[] { 1, 1, 2, 2 }, 2.0);
            TensorAssert.Values(new[] { 6.5f }, ConvBatchNorm.Forward(conv, bn, x).flatten()[..1]);
            bn.train();
            using (torch.no_grad()) bn.forward(torch.full(new long[] { 1, 1, 2, 2 }, 7.0));
            bn.eval();
            TensorAssert.Values(new[] { 1.6f }, bn.running_mean);
            TensorAssert.Values(new[] { 6.114653f }, ConvBatchNorm.Forward(conv, bn, x).flatten()[..1], tolerance: 1e-5f);
        }
    }

    [Fact]
    public void TrainableOrTrainingPairsAreNotFolded()
    {
        var (conv, bn) = HandPair();
        using (conv)
        using (bn)
        {
            conv.requires_grad_(true);
            Assert.False(ConvBatchNorm.CanFold(conv, bn));
            conv.requires_grad_(false);
            bn.train();
            Assert.False(ConvBatchNorm.CanFold(conv, bn));
        }
    }

    [Fact]
    public void ChannelsLastModuleConvertsOnlyFourDimensionalTensorsAndKeepsRequiresGrad()
    {
        using var seq = new Sequential(new Conv2d(3, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU());
        seq.to(MemoryFormat.ChannelsLast);
        var conv = (Conv2d)seq[0];
        Assert.True(conv.weight.is_contiguous(MemoryFormat.ChannelsLast));
        Assert.False(conv.weight.is_contiguous());
        Assert.True(conv.weight.requires_grad);
        Assert.True(conv.bias!.is_contiguous());
        Assert.True(((BatchNorm2d)seq[1]).running_var.is_contiguous());
    }

    [Fact]
    public void ReluAfterANestedSequentialThatReturnsAViewOfTheInputDoesNotOverwriteTheInput()
    {
        // Identity and Flatten return views of their input; a Sequential ending in one returns a view of what it got.
        using var identity = new Sequential(new Sequential(new Identity()), new ReLU());
        using var flatten = new Sequential(new Sequential(new Flatten()), new ReLU());
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { -1f, 2f, -3f, 7f }).view(1, 1, 2, 2);
        using (torch.no_grad())
        {
            TensorAssert.Values(new[] { 0f, 2f, 0f, 7f }, identity.forward(x).flatten());
            TensorAssert.Values(new[] { -1f, 2f, -3f, 7f }, x.flatten());
            TensorAssert.Values(new[] { 0f, 2f, 0f, 7f }, flatten.forward(x));
            TensorAssert.Values(new[] { -1f, 2f, -3f, 7f }, x.flatten());
        }
    }

    [Fact]
    public void SequentialLeavesItsInputUntouchedAndGradientsMatchTheUnfusedOps()
    {
        using var seq = new Sequential(new ReLU(), new Conv2d(2, 3, 3, padding: 1), new BatchNorm2d(3), new ReLU6());
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(7);
        var x = torch.randn(new long[] { 2, 2, 5, 5 }, generator: generator);
        var before = x.clone();
        var conv = (Conv2d)seq[1];
        var bn = (BatchNorm2d)seq[2];
        using (torch.no_grad())
        {
            bn.running_mean.copy_(torch.tensor(new[] { 0.1f, -0.2f, 0.3f }));
            bn.running_var.copy_(torch.tensor(new[] { 0.5f, 2.0f, 1.5f }));
        }
        seq.eval();
        seq.requires_grad_(false);
        using (torch.no_grad()) seq.forward(x);
        TensorAssert.Equal(before, x, "input after a no-grad forward whose first layer is a ReLU");

        // Gradient w.r.t. the input through the folded conv and the in-place ReLU6, against separate out-of-place ops.
        var a = x.detach();
        a.requires_grad = true;
        var g = torch.autograd.grad(new[] { seq.forward(a).sum() }, new[] { a })[0]!;
        var b = x.detach();
        b.requires_grad = true;
        var reference = torch.nn.functional.batch_norm(conv.forward(b.relu()), bn.running_mean, bn.running_var, bn.weight, bn.bias, false, 0.1, 1e-5)
            .clamp(0, 6);
        var expected = torch.autograd.grad(new[] { reference.sum() }, new[] { b })[0]!;
        TensorAssert.Close(expected, g, rtol: 1e-5, atol: 1e-6, what: "input gradient");
        TensorAssert.Equal(before, x, "input after forward and backward");
    }
}
