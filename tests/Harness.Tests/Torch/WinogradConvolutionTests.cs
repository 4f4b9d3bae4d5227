using Harness.Models;
using Harness.Tests.Models;
using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Tests.Torch;

/// <summary>
/// <see cref="ConvolutionKind.Winograd"/>: oneDNN's Winograd kernels for 3×3 stride-1 convolutions. Layer by layer they
/// are checked against aten's direct convolution (itself checked against PyTorch in OpsGoldenTests), whole models
/// against torchvision's logits and input gradients (Golden/make_golden_models.py) with the criteria the direct path
/// meets in ModelGoldenTests. Serial: the algorithm is process-wide, and other tests expect the default one.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class WinogradConvolutionTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();
    private readonly Generator _generator = new(5);
    private readonly ConvolutionKind _previous = ConvolutionAlgorithm.Current;

    public void Dispose()
    {
        ConvolutionAlgorithm.Use(_previous);
        _scope.Dispose();
        _generator.Dispose();
    }

    /// <summary>Skips the calling test where this build or CPU has no Winograd convolutions.</summary>
    internal static void RequireWinograd() =>
        Skip.IfNot(ConvolutionAlgorithm.WinogradAvailable,
            "no Winograd convolutions here: the native shim was built without oneDNN's headers (apt-get install libdnnl-dev, then rebuild) or this CPU lacks oneDNN's Winograd kernels (AVX-512)");

    private Tensor Random(params long[] shape) => torch.randn(shape, generator: _generator);

    /// <summary>Direct and Winograd outputs of one convolution, and the input and weight gradients of Σ y ⊙ r.</summary>
    private static (Tensor Y, Tensor GradX, Tensor GradW) Run(ConvolutionKind kind, Tensor x, Tensor w, Tensor b, Tensor r, long padding) =>
        ConvolutionAlgorithm.With(kind, () =>
        {
            var xl = x.detach().requires_grad_();
            var wl = w.detach().requires_grad_();
            var y = F.conv2d(xl, wl, b, padding: padding);
            (y * r).sum().backward();
            return (y.detach(), xl.grad!, wl.grad!);
        });

    [SkippableTheory]
    [InlineData(MemoryFormat.ChannelsLast, 1)]
    [InlineData(MemoryFormat.Contiguous, 1)]
    [InlineData(MemoryFormat.ChannelsLast, 0)]
    public void ForwardAndGradientsAgreeWithDirectConvolutionToRounding(MemoryFormat format, long padding)
    {
        RequireWinograd();
        var x = Random(2, 32, 13, 11).contiguous(format);
        var w = Random(24, 32, 3, 3) * 0.1;
        var b = Random(24);
        var r = Random(2, 24, 11 + 2 * padding, 9 + 2 * padding);
        var direct = Run(ConvolutionKind.Direct, x, w, b, r, padding);
        var winograd = Run(ConvolutionKind.Winograd, x, w, b, r, padding);

        // Winograd rounds differently (so the fast path did run), by about 1e-6 of the values' scale.
        Assert.False(direct.Y.equal(winograd.Y), "the Winograd output is bit-identical to the direct one: the fast path did not run");
        var scale = direct.Y.abs().max().item<double>();
        TensorAssert.Close(direct.Y, winograd.Y, rtol: 0, atol: 1e-5 * scale, what: "output");
        Assert.True(winograd.Y.is_contiguous(format), "the output keeps the input's layout");
        TensorAssert.Close(direct.GradX, winograd.GradX, rtol: 0, atol: 1e-5 * direct.GradX.abs().max().item<double>(), what: "input gradient");
        Assert.True(winograd.GradX.is_contiguous(format), "the input gradient keeps the input's layout");
        // The weight gradient comes from aten's direct kernel either way.
        TensorAssert.Equal(direct.GradW, winograd.GradW, "weight gradient");
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainingGradientsWithAndWithoutABiasAreDirectConvolutions(bool withBias)
    {
        // ResNet convolutions have no bias; a trainable bias takes the bias-gradient path.
        RequireWinograd();
        var x = Random(2, 16, 9, 9).contiguous(MemoryFormat.ChannelsLast);
        var w = Random(8, 16, 3, 3) * 0.1;
        var b = withBias ? Random(8) : null;
        var r = Random(2, 8, 9, 9);
        Tensor?[] Gradients(ConvolutionKind kind) => ConvolutionAlgorithm.With(kind, () =>
        {
            var leaves = new[] { x.detach().requires_grad_(), w.detach().requires_grad_(), b?.detach().requires_grad_() };
            (F.conv2d(leaves[0]!, leaves[1]!, leaves[2], padding: 1) * r).sum().backward();
            return leaves.Select(l => l?.grad).ToArray();
        });
        var direct = Gradients(ConvolutionKind.Direct);
        var winograd = Gradients(ConvolutionKind.Winograd);
        TensorAssert.Close(direct[0]!, winograd[0]!, rtol: 0, atol: 1e-5 * direct[0]!.abs().max().item<double>(), what: "input gradient");
        TensorAssert.Equal(direct[1]!, winograd[1]!, "weight gradient");
        if (withBias) TensorAssert.Equal(direct[2]!, winograd[2]!, "bias gradient");
    }

    [SkippableFact]
    public void ASecondDerivativeThroughTheInputGradientIsPyTorchs()
    {
        // create_graph: the input gradient must itself be differentiable (here in the weight).
        RequireWinograd();
        var x = Random(1, 8, 7, 7);
        var w0 = Random(4, 8, 3, 3);
        var r = Random(1, 4, 7, 7);
        Tensor SecondOrder(ConvolutionKind kind) => ConvolutionAlgorithm.With(kind, () =>
        {
            var xl = x.detach().requires_grad_();
            var w = w0.detach().requires_grad_();
            var g = torch.autograd.grad(new[] { (F.conv2d(xl, w, null, padding: 1) * r).sum() }, new[] { xl }, create_graph: true)[0]!;
            (g * g).sum().backward();
            return w.grad!;
        });
        var direct = SecondOrder(ConvolutionKind.Direct);
        TensorAssert.Close(direct, SecondOrder(ConvolutionKind.Winograd), rtol: 1e-5, atol: 1e-5 * direct.abs().max().item<double>());
    }

    [SkippableFact]
    public void WhatOnlyTheShimTurnsAwayRunsDirectUnchanged()
    {
        // These pass the C# pre-check (3×3, stride 1, one group) but not the shim's: float64, a non-dense input.
        RequireWinograd();
        var w = Random(8, 8, 3, 3);
        foreach (var (x, weight, what) in new[]
                 {
                     (Random(1, 8, 10, 10).to(ScalarType.Float64), w.to(ScalarType.Float64), "float64"),
                     (Random(1, 8, 10, 20).narrow(3, 0, 10), w, "non-dense input"),
                 })
        {
            var expected = ConvolutionAlgorithm.With(ConvolutionKind.Direct, () => F.conv2d(x, weight, null, padding: 1));
            TensorAssert.Equal(expected, ConvolutionAlgorithm.With(ConvolutionKind.Winograd, () => F.conv2d(x, weight, null, padding: 1)), what);
        }
        // A shape error names the operator, as on the direct path.
        var e = Assert.Throws<TorchException>(() => ConvolutionAlgorithm.With(ConvolutionKind.Winograd, () => F.conv2d(Random(1, 4, 10, 10), w, null, padding: 1)));
        Assert.StartsWith("aten::conv2d", e.Message);
    }

    [SkippableFact]
    public void ConvolutionsWinogradDoesNotCoverRunDirectUnchanged()
    {
        RequireWinograd();
        var x = Random(1, 8, 10, 10);
        foreach (var (w, stride, groups) in new[] { (Random(8, 8, 3, 3), 2L, 1L), (Random(8, 8, 1, 1), 1L, 1L), (Random(8, 2, 3, 3), 1L, 4L) })
        {
            var expected = ConvolutionAlgorithm.With(ConvolutionKind.Direct, () => F.conv2d(x, w, null, stride, 1, 1, groups));
            TensorAssert.Equal(expected, ConvolutionAlgorithm.With(ConvolutionKind.Winograd, () => F.conv2d(x, w, null, stride, 1, 1, groups)),
                $"stride {stride}, groups {groups}, kernel {w.size(2)}");
        }
    }

    [SkippableTheory]
    [InlineData("resnet50", 102)]
    [InlineData("vgg19", 101)]
    [InlineData("resnet18", 106)]
    public void ModelLogitsMatchTorchvisionAsTheDirectPathDoes(string name, ulong seed)
    {
        RequireWinograd();
        using var golden = torch.load(TestPaths.Fixture("Golden", "models.safetensors"));
        using var model = GoldenModelUnder(ConvolutionKind.Winograd, name, seed);
        ModelGoldenTests.AssertLogits(golden, model, name + " with Winograd convolutions");
    }

    [SkippableFact]
    public void InputGradientOfResNet18MatchesTorchvisionAsTheDirectPathDoes()
    {
        RequireWinograd();
        using var golden = torch.load(TestPaths.Fixture("Golden", "models.safetensors"));
        using var model = GoldenModelUnder(ConvolutionKind.Winograd, "resnet18", 106);
        ModelGoldenTests.AssertInputGradient(golden, model, "resnet18", minAgreeing: 0.9); // the direct path's criteria
    }

    /// <summary>The golden model <paramref name="name"/> (weights of <paramref name="seed"/>, as
    /// Golden/make_golden_models.py fills them), frozen and channels-last, with <paramref name="kind"/> in use.</summary>
    private static ClassifierModel GoldenModelUnder(ConvolutionKind kind, string name, ulong seed)
    {
        var model = ModelZoo.Create(name);
        DeterministicWeights.Fill(model, seed);
        ModelGoldenTests.Freeze(model);
        ConvolutionAlgorithm.Use(kind);
        return model;
    }

    [Fact]
    public void AnUnknownAlgorithmNameIsAnErrorNamingItsSourceAndTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvolutionAlgorithm.Parse("winnograd", ConvolutionAlgorithm.EnvironmentVariable));
        Assert.Contains("MIPIN_CONVOLUTION", e.Message);
        Assert.Contains("'direct', 'winograd-gradients' or 'winograd'", e.Message);
        Assert.Equal(ConvolutionKind.Winograd, ConvolutionAlgorithm.Parse(" Winograd ", "x"));
        Assert.Equal(ConvolutionKind.WinogradGradients, ConvolutionAlgorithm.Parse("winograd-gradients", "x"));
        Assert.Equal(ConvolutionKind.Direct, ConvolutionAlgorithm.Parse("DIRECT", "x"));
    }

    public static TheoryData<long, long, long, long, long, long> FrozenShapes => new()
    {
        // channels, out channels, height, width, padding, batch
        { 64, 64, 56, 56, 1, 2 },   // ResNet-50's first stage
        { 16, 24, 70, 45, 1, 3 },   // partial tiles at every edge
        { 24, 16, 30, 31, 0, 2 },   // no padding
        { 256, 256, 14, 14, 1, 2 }, // ResNet-50's third stage, under 28×28 (the direct kind is oneDNN's backward kernel)
        { 20, 36, 9, 9, 1, 1 },     // channels that fill no block of 16
    };

    [SkippableTheory]
    [MemberData(nameof(FrozenShapes))]
    public void TheDefaultTakesWinogradInputGradientsOfFrozenLayersAndLeavesTheForwardPassAlone(long channels,
        long outChannels, long height, long width, long padding, long batch)
    {
        // ConvolutionKind.WinogradGradients (the default): the forward values, and so every gate above, must be aten's
        // to the last bit; the input gradient is Winograd's, so it differs from the direct kernel's (proof that it ran)
        // but must be within the stated tolerance (1e-5 of its largest value per layer; measured about 1e-6) of the
        // same gradient in float64, as accurate as PyTorch's own kernel to within that.
        RequireWinograd();
        var x = Random(batch, channels, height, width).contiguous(MemoryFormat.ChannelsLast);
        var w = (Random(outChannels, channels, 3, 3) / Math.Sqrt(9 * channels)).contiguous(MemoryFormat.ChannelsLast);
        var ours = ConvolutionAlgorithm.With(ConvolutionKind.WinogradGradients,
            () => FrozenConvolutionTests.ForwardAndInputGradient(x, w, null, 1, padding));
        var direct = ConvolutionAlgorithm.With(ConvolutionKind.Direct,
            () => FrozenConvolutionTests.ForwardAndInputGradient(x, w, null, 1, padding));
        var aten = FrozenConvolutionTests.ForwardAndInputGradient(x, w.detach().requires_grad_(), null, 1, padding);
        TensorAssert.Equal(aten.Output, ours.Output, "forward pass");
        var exact = FrozenConvolutionTests.ForwardAndInputGradient(x.to(ScalarType.Float64), w.to(ScalarType.Float64), null, 1, padding).Gradient;
        var scale = exact.abs().max().item<double>();
        double ErrorOf(Tensor g) => (g.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
        var oursError = ErrorOf(ours.Gradient);
        Assert.True(oursError <= 1e-5, $"Winograd input gradient error {oursError:E2} of its largest value (aten's {ErrorOf(aten.Gradient):E2})");
        Assert.False(ours.Gradient.equal(direct.Gradient), "the default's input gradient is the direct kernel's: Winograd did not run");
        Assert.True(ours.Gradient.is_contiguous(MemoryFormat.ChannelsLast), "a channels-last input gets a channels-last gradient");
        Assert.Equal(x.shape, ours.Gradient.shape);
    }

    [SkippableFact]
    public void TheDefaultKeepsDirectKernelsWhereWinogradDoesNotApply()
    {
        // Stride 2, 1×1 and contiguous inputs keep the direct kinds: the same gradient as under Direct, to the last bit.
        RequireWinograd();
        foreach (var (x, w, stride, padding, what) in new[]
                 {
                     (Random(2, 16, 20, 20).contiguous(MemoryFormat.ChannelsLast), Random(24, 16, 3, 3), 2L, 1L, "stride 2"),
                     (Random(2, 16, 20, 20).contiguous(MemoryFormat.ChannelsLast), Random(24, 16, 1, 1), 1L, 0L, "1×1"),
                     (Random(2, 16, 30, 30), Random(24, 16, 3, 3), 1L, 1L, "contiguous input"),
                 })
        {
            var ours = ConvolutionAlgorithm.With(ConvolutionKind.WinogradGradients, () => FrozenConvolutionTests.ForwardAndInputGradient(x, w, null, stride, padding));
            var direct = ConvolutionAlgorithm.With(ConvolutionKind.Direct, () => FrozenConvolutionTests.ForwardAndInputGradient(x, w, null, stride, padding));
            TensorAssert.Equal(direct.Output, ours.Output, what + ": forward");
            TensorAssert.Equal(direct.Gradient, ours.Gradient, what + ": input gradient");
        }
    }

    [SkippableFact]
    public void RecordedBlockedPassesTakeTheWinogradInputGradientInTheirOwnLayout()
    {
        // MIPIN_BLOCKED_ACTIVATIONS=all: a recorded 3×3 stride-1 convolution on blocked activations takes the Winograd
        // backward-data kernel under the default (no reorder: it reads that layout), the direct one under Direct. Both
        // within the stated tolerance of float64 autograd, with the gate from the forward pass; not the same numbers.
        RequireWinograd();
        BlockedActivationTests.SkipUnlessAvailable();
        var x = Random(3, 64, 23, 17).contiguous(MemoryFormat.ChannelsLast);
        var w = Random(64, 64, 3, 3) * 0.05;
        var upstream = Random(3, 64, 23, 17);
        (Tensor Gradient, Tensor Gate) Recorded(ConvolutionKind kind) => ConvolutionAlgorithm.With(kind, () =>
        {
            var leaf = x.detach().requires_grad_();
            using var input = BlockedActivation.From(leaf);
            using var output = input.Conv2d(w, null, 1, 1, 1, OutputRectifier.ReLU, null);
            var y = output.ToChannelsLast();
            return (torch.autograd.grad(new[] { y }, new[] { leaf }, new Tensor?[] { upstream })[0]!, y.detach().gt(0));
        });
        var winograd = Recorded(ConvolutionKind.WinogradGradients);
        var direct = Recorded(ConvolutionKind.Direct);
        TensorAssert.Equal(direct.Gate, winograd.Gate, "the forward pass (the gate)");
        var x64 = x.to(ScalarType.Float64).requires_grad_();
        var y64 = F.conv2d(x64, w.to(ScalarType.Float64), null, padding: 1) * winograd.Gate.to(ScalarType.Float64);
        var exact = torch.autograd.grad(new[] { y64 }, new[] { x64 }, new Tensor?[] { upstream.to(ScalarType.Float64) })[0]!;
        var scale = exact.abs().max().item<double>();
        foreach (var (gradient, what) in new[] { (winograd.Gradient, "Winograd"), (direct.Gradient, "direct") })
        {
            var error = (gradient.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
            Assert.True(error <= 1e-5, $"{what} input gradient differs from float64 autograd's by {error:E2} of its largest value");
        }
        Assert.False(winograd.Gradient.equal(direct.Gradient), "the default's blocked input gradient is the direct kernel's: Winograd did not run");
    }

    [SkippableFact]
    public void ResNet18UnderTheDefaultMeetsTheDirectPathsGoldenCriteria()
    {
        // The whole-model view of the default: the logits and the input gradient, Winograd's through every 3×3 stride-1
        // layer, meet the criteria the direct path meets against torchvision's.
        RequireWinograd();
        using var golden = torch.load(TestPaths.Fixture("Golden", "models.safetensors"));
        using var model = GoldenModelUnder(ConvolutionKind.WinogradGradients, "resnet18", 106);
        ModelGoldenTests.AssertLogits(golden, model, "resnet18 with Winograd input gradients");
        ModelGoldenTests.AssertInputGradient(golden, model, "resnet18", minAgreeing: 0.9);
    }
}
