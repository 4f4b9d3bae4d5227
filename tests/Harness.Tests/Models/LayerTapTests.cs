using Harness.Models;
using Harness.Tests.Torch;
using Harness.Torch;
using Harness.Torch.Serialization;

namespace Harness.Tests.Models;

/// <summary>Running to a layer, capturing layers and resuming from a layer agree with the full forward pass.</summary>
public sealed class LayerTapTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Theory]
    [InlineData("small_cnn", 16, "features.2")]
    [InlineData("resnet18", 32, "layer3")]
    [InlineData("resnet18", 32, "layer2.1")]
    [InlineData("mobilenet_v2", 32, "features.7")]
    [InlineData("mobilenet_v2", 32, "features.18")]
    [InlineData("mobilenet_v2", 32, "features.0.1")]
    [InlineData("vgg11", 32, "classifier.1")]
    public void ForwardToThenFromEqualsForward(string name, int size, string layer)
    {
        using var model = ModelZoo.Create(name, seed: 3);
        using var g = new Generator(3);
        var x = torch.randn(new long[] { 2, 3, size, size }, generator: g);
        using var noGrad = torch.no_grad();
        var full = model.forward(x);
        var activation = model.ForwardTo(x, layer);
        TensorAssert.Close(full, model.ForwardFrom(activation, layer), rtol: 1e-5, atol: 1e-5);
        var (logits, captured) = model.Capture(x, new[] { layer, "flatten" });
        TensorAssert.Close(full, logits, rtol: 0, atol: 0);
        TensorAssert.Close(activation, captured[layer], rtol: 0, atol: 0);
    }

    [Theory]
    [InlineData("vgg11")]
    [InlineData("mobilenet_v2")]
    [InlineData("resnet18")]
    public void FusionsWithoutAutogradChangeNoValue(string name)
    {
        // Without autograd the stage loop runs each ReLU/ReLU6 stage inside the convolution before it (VGG's pairs,
        // the stems, MobileNetV2's head), the shim runs MobileNetV2's depthwise convolutions with their ReLU6 inside,
        // and residual sums go into the last convolution. While autograd records, MobileNetV2's depthwise
        // convolutions are aten's with a separate in-place ReLU6 and its sums a separate add_, while the rectifiers
        // after ungrouped convolutions and ResNet's sums stay inside the kernel (each such op is checked against
        // aten's separate ops in Torch/FrozenConvolutionTests). VGG has no batch norm to fold, so a pass with
        // trainable weights runs every layer as aten's separate op: the logits of all passes must be the same to
        // the last bit. (Blocked runs, which use other kernels, are off here: Models/BlockedRunTests checks them.)
        using var channelsLast = BlockedActivation.Override(false);
        using var model = ModelZoo.Create(name, seed: 7);
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
        using var g = new Generator(7);
        var x = torch.randn(new long[] { 16, 3, 64, 64 }, generator: g).mul(20);  // large enough to reach ReLU6's upper bound
        Tensor fused;
        using (torch.no_grad())
            fused = model.forward(x);
        var recorded = model.forward(x.detach().requires_grad_());
        Assert.True(recorded.requires_grad, "the reference pass is recorded");
        Assert.True(fused.equal(recorded.detach()), "logits");
        if (name.StartsWith("vgg", StringComparison.Ordinal))
        {
            model.requires_grad_(true);  // not frozen: aten's conv2d, then the in-place ReLU as its own op
            Assert.True(fused.equal(model.forward(x).detach()), "logits against every layer run separately");
        }
    }

    [SkippableFact]
    public void AnInvertedResidualGivenItsInputWritesItsSumThere()
    {
        // Without autograd, MobileNetV2's block adds its input inside its projection's kernel, into the input's memory,
        // where oneDNN's brgemm kernels run (OneDnnKernels.Brgemm); elsewhere it adds separately, with the same values.
        using var model = ModelZoo.Create("mobilenet_v2", seed: 7);
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
        var block = (InvertedResidual)model.StageOf("features.3").Module;  // 24 → 24 channels, stride 1
        Assert.True(block.UsesResidual);
        using var g = new Generator(7);
        var input = torch.randn(new long[] { 16, 24, 16, 16 }, generator: g).contiguous(MemoryFormat.ChannelsLast);
        using var noGrad = torch.no_grad();
        var expected = block.forward(input);
        var given = input.clone();
        var output = block.ForwardGivingUpInput(given);
        Assert.True(output.equal(expected), "the block's output");
        Skip.IfNot(OneDnnKernels.Brgemm == true, BrgemmOnly);
        Assert.True(given.equal(output), "the sum is written into the given-up input");
    }

    // Why the tests of sums inside a convolution's kernel skip their last check off AVX-512.
    private const string BrgemmOnly =
        "the values were checked; whether the sum ran inside the kernel cannot be: oneDNN runs its brgemm kernels, which take it, only on AVX-512 (this CPU has AVX2 kernels, and the shim adds separately)";

    [SkippableTheory]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    public void ResidualBlocksWritingIntoTheirInputChangeNoValue(string name)
    {
        // Without autograd the stage loop gives a residual block an input it made and keeps nowhere, and the block adds
        // its shortcut inside its last convolution, into that input's memory. The logits and every captured
        // activation must equal those of a pass that keeps every block's input (capturing all stages), bit for bit.
        // (Blocked runs, which use other kernels, are off here: Models/BlockedRunTests checks them.)
        using var channelsLast = BlockedActivation.Override(false);
        using var model = ModelZoo.Create(name, seed: 5);
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
        using var g = new Generator(5);
        var x = torch.randn(new long[] { 16, 3, 64, 64 }, generator: g);  // 16 images: oneDNN's 1×1 kernel, as at batch 32
        using var noGrad = torch.no_grad();
        var everyStage = model.Stages.Select(s => s.Name).Where(n => n != "conv1").ToArray();  // conv1 still folds with bn1
        var (keptLogits, kept) = model.Capture(x, everyStage);
        Assert.True(model.forward(x).equal(keptLogits), "logits");
        // Each captured block is followed by a block with the identity shortcut, which must not take it as its own.
        var (logits, captured) = model.Capture(x, new[] { "layer1.0", "layer3.0" });
        Assert.True(logits.equal(keptLogits), "logits with two captured layers");
        Assert.True(captured["layer1.0"].equal(kept["layer1.0"]) && captured["layer3.0"].equal(kept["layer3.0"]),
            "captured activations are not overwritten by the blocks after them");

        // The path is taken: a block with the identity shortcut, given its input, leaves its output in that memory.
        var block = (ResidualBlock)model.StageOf("layer1.1").Module;
        var input = kept["layer1.0"].clone();
        var output = block.ForwardGivingUpInput(input);
        Assert.True(output.equal(kept["layer1.1"]), "the block's output");
        Skip.IfNot(OneDnnKernels.Brgemm == true, BrgemmOnly);
        Assert.True(input.equal(output), "the sum is written into the given-up input");
    }

    [Fact]
    public void AliasesNameTheLastStageOfAGroup()
    {
        using var resnet = ModelZoo.Create("resnet50");
        Assert.Equal(resnet.IndexOf("layer4.2"), resnet.IndexOf("layer4"));
        using var mobilenet = ModelZoo.Create("mobilenet_v2");
        Assert.Equal(mobilenet.IndexOf("features.18.2"), mobilenet.IndexOf("features.18"));
        Assert.IsType<InvertedResidual>(mobilenet.StageOf("features.17").Module);
        using var vgg = ModelZoo.Create("vgg19");
        Assert.Equal(37 + 1 + 1 + 7, vgg.Stages.Count); // 37 feature modules, avgpool, flatten, 7 classifier modules
        Assert.IsType<Harness.Torch.Modules.MaxPool2d>(vgg.StageOf("features.36").Module);
    }

    [Fact]
    public void UnknownLayerListsTheValidNames()
    {
        using var model = ModelZoo.Create("small_cnn");
        var e = Assert.Throws<UnknownLayerException>(() => model.IndexOf("features.99"));
        Assert.Contains("features.99", e.Message);
        Assert.Contains("features.0, features.1", e.Message);
        Assert.Contains("classifier.2", e.Message);
    }

    [Fact]
    public void UnknownModelListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet51"));
        Assert.Contains("resnet50", e.Message);
    }

    [Fact]
    public void NumClassesIsConfigurable()
    {
        using var model = ModelZoo.Create("resnet18", numClasses: 7);
        using var noGrad = torch.no_grad();
        Assert.Equal(new long[] { 1, 7 }, model.forward(torch.zeros(new long[] { 1, 3, 32, 32 })).shape);
    }

    [Fact]
    public void StateDictKeysMatchTorchvisionCheckpoint()
    {
        using var model = ModelZoo.Create("mobilenet_v2");
        using var state = torch.load(TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth"));
        Assert.Equal(state.Keys, model.named_state().Select(s => s.Name));
    }

    [Fact]
    public void CheckpointOfAnotherArchitectureIsRefusedWithTheKeyLists()
    {
        var e = Assert.Throws<CheckpointException>(() =>
            ModelZoo.Load("resnet18", TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth")));
        Assert.Contains("mobilenet_v2_coral.pth", e.Message);
        Assert.Contains("missing keys", e.Message);
        Assert.Contains("conv1.weight", e.Message);
        Assert.Contains("unexpected keys", e.Message);
        Assert.Contains("features.0.0.weight", e.Message);
    }

    [Fact]
    public void WrongClassCountIsAShapeMismatch()
    {
        var e = Assert.Throws<CheckpointException>(() =>
            ModelZoo.Load("mobilenet_v2", TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth"), numClasses: 10));
        Assert.Contains("classifier.1.weight: checkpoint [1000, 1280], model [10, 1280]", e.Message);
    }

    [Fact]
    public void LoadedModelIsFrozenAndInEvalMode()
    {
        using var model = ModelZoo.Load("mobilenet_v2", TestPaths.Repo("data", "models", "mobilenet_v2_coral.safetensors"));
        Assert.False(model.training);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
    }
}
