using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// Frozen convolutions whose input gradient is wanted take <see cref="FrozenConvolution"/>'s input gradient: a matrix
/// product and a scatter over 1–4 input channels, a forward convolution with the rotated, transposed kernel for 3×3
/// stride-1 layers over ≥ 28×28 channels-last pixels. The reference is PyTorch's own kernel: the same convolution with a
/// weight that requires a gradient, which the shim hands to <c>aten::conv2d</c> and its backward, and the same gradient
/// in float64. The forward values must be aten's exactly; the input gradient sums the same products in another order,
/// so it must be as close to float64 as aten's (within 2×) and within 2e-6 of aten's, relative to its largest value,
/// for every layout, stride, padding and channel count the models use and at sizes that leave partial bands and
/// windows at every edge. Everywhere else (the forward pass, and the input gradient of other layers on channels-last
/// data, which run oneDNN's primitives with their weights cached between calls) the results must be aten's exactly.
/// These are the kernels of <see cref="ConvolutionKind.Direct"/>, under which the class runs (serially: the algorithm is
/// process-wide); the default's Winograd input gradients are WinogradConvolutionTests'.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FrozenConvolutionTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();
    private readonly ConvolutionKind _previous = ConvolutionAlgorithm.Current;

    public FrozenConvolutionTests() => ConvolutionAlgorithm.Use(ConvolutionKind.Direct);

    public void Dispose()
    {
        ConvolutionAlgorithm.Use(_previous);
        _scope.Dispose();
    }

    public static TheoryData<long, long, long, long, long, bool, bool> Cases => new()
    {
        // channels, out channels, kernel, stride, padding, channels-last input, bias
        { 3, 64, 7, 2, 3, false, false },  // ResNet's first layer
        { 3, 32, 3, 2, 1, true, true },    // MobileNetV2's
        { 3, 64, 3, 1, 1, false, true },   // VGG's
        { 1, 8, 5, 1, 2, false, true },    // a grey image (MNIST)
        { 4, 16, 3, 3, 0, true, false },   // RGBA, stride 3, no padding
        { 16, 24, 3, 1, 1, true, true },   // 3×3 stride 1 over 70×45 pixels: the transposed forward convolution
        { 24, 16, 3, 1, 0, true, false },  // the same without padding (the gradient pads by 2)
        { 16, 24, 3, 1, 1, false, true },  // contiguous layout: aten's backward
        { 16, 24, 1, 1, 0, true, true },   // 1×1: aten's backward
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InputGradientMatchesPyTorchsKernel(long channels, long outChannels, long kernel, long stride,
        long padding, bool channelsLast, bool withBias)
    {
        torch.manual_seed(7);
        var x = torch.randn(new long[] { 3, channels, 70, 45 });  // 3150 pixels
        if (channelsLast) x = x.contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, channels, kernel, kernel }).contiguous(MemoryFormat.ChannelsLast);
        var bias = withBias ? torch.randn(new long[] { outChannels }) : null;

        var (ours, oursGrad) = ForwardAndInputGradient(x, weight, bias, stride, padding);
        var (aten, atenGrad) = ForwardAndInputGradient(x, weight.detach().requires_grad_(), bias, stride, padding);

        Assert.True(ours.equal(aten), "the forward pass must be aten::conv2d's, unchanged");
        // Both float32 gradients against the same gradient in float64: ours must be as accurate as PyTorch's kernel.
        var exact = ForwardAndInputGradient(x.to(ScalarType.Float64), weight.to(ScalarType.Float64),
            bias?.to(ScalarType.Float64), stride, padding).Gradient;
        var scale = exact.abs().max().item<double>();
        var oursError = (oursGrad.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
        var atenError = (atenGrad.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
        Assert.True(oursError <= Math.Max(2 * atenError, 1e-7),
            $"input gradient error {oursError:E2} of its largest value, PyTorch's kernel {atenError:E2}");
        var difference = (oursGrad - atenGrad).abs().max().item<float>() / (float)scale;
        Assert.True(difference <= 2e-6f, $"input gradient differs from PyTorch's by {difference:E2} of its largest value");
        if (channelsLast) Assert.True(oursGrad.is_contiguous(MemoryFormat.ChannelsLast), "a channels-last input gets a channels-last gradient");
        Assert.Equal(x.shape, oursGrad.shape);
    }

    [Fact]
    public void SmallLayersKeepPyTorchsGradientExactly()
    {
        // Under 28×28 pixels oneDNN's backward-data kernel is as fast, so the gradient must be aten's to the last bit.
        torch.manual_seed(9);
        var x = torch.randn(new long[] { 2, 16, 27, 29 }).contiguous(MemoryFormat.ChannelsLast);  // 783 pixels
        var weight = torch.randn(new long[] { 32, 16, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        var ours = ForwardAndInputGradient(x, weight, null, 1, 1).Gradient;
        var aten = ForwardAndInputGradient(x, weight.detach().requires_grad_(), null, 1, 1).Gradient;
        Assert.True(ours.equal(aten));
    }

    public static TheoryData<long, long, long> RecordedLayerShapes => new()
    {
        // channels, out channels, pixels per side: 3×3 stride-1 layers of 14×14 to 64×64 pixels, whose forward kernel a
        // recorded pass runs on oneDNN's blocked layout on AVX2 (frozen_conv2d.cpp, blocked_layout_forward)
        { 64, 64, 56 },    // ResNet-50's layer1
        { 128, 128, 28 },  // ResNet-50's layer2
        { 256, 256, 14 },  // ResNet-50's layer3
        { 256, 256, 56 },  // VGG's
        { 512, 512, 28 },  // VGG's
        { 512, 512, 14 },  // VGG's
        { 16, 24, 33 },    // an odd size: partial bands and windows at every edge
    };

    [Theory]
    [MemberData(nameof(RecordedLayerShapes))]
    public void ARecordedForwardPassIsAtensExactly(long channels, long outChannels, long size)
    {
        // The blocked-layout forward is oneDNN's channels-last kernel reading nChw8c copies: the same sums in the same
        // order, so the values, and with them every ReLU gate and the output the backward masks with, must be aten's,
        // with the rectifier inside the kernel and without. (Elsewhere these layers run aten's channels-last kernel.)
        torch.manual_seed(23);
        var x = torch.randn(new long[] { 2, channels, size, size }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, channels, 3, 3 }).mul(0.05).contiguous(MemoryFormat.ChannelsLast);
        var bias = torch.randn(new long[] { outChannels });
        var input = x.detach().requires_grad_();
        long[] one = { 1, 1 };
        var aten = torch.nn.functional.conv2d(x, weight.detach().requires_grad_(), bias, 1, 1);
        var before = FrozenConvolution.BlockedLayoutForwardsOnThisThread;
        var rectified = FrozenConvolution.Conv2dRectified(input, weight, bias, one, one, one, 1, relu6: false);
        Assert.True(rectified.equal(aten.relu()), "forward with the rectifier inside the kernel");
        Assert.True(rectified.is_contiguous(MemoryFormat.ChannelsLast));
        Assert.True(torch.nn.functional.conv2d(input, weight, bias, 1, 1).equal(aten), "forward without a rectifier");
        // Both took the blocked-layout kernel where it exists (AVX2), and only there.
        var blockedHere = BlockedLayoutForwardTests.TakenOnThisCpu;
        Assert.Equal(before + (blockedHere ? 2 : 0), FrozenConvolution.BlockedLayoutForwardsOnThisThread);
        // On AVX2 the input gradient too: oneDNN's jit:avx2 backward-data kernel, which the shim runs on nChw8c copies
        // from 28×28 to 64×64 pixels, sums as it does on channels-last data. (On AVX-512 the large layers take the
        // transposed forward convolution: float rounding, InputGradientMatchesPyTorchsKernel's bounds.)
        if (OneDnnKernels.Brgemm == false)
        {
            var ours = ForwardAndInputGradient(x, weight, bias, 1, 1).Gradient;
            var theirs = ForwardAndInputGradient(x, weight.detach().requires_grad_(), bias, 1, 1).Gradient;
            Assert.True(ours.equal(theirs), $"on AVX2 the input gradient must be aten's exactly; differs by {(ours - theirs).abs().max().item<float>():E2}");
        }
    }

    [Fact]
    public void WithoutAutogradTheForwardPassIsAtensExactly()
    {
        torch.manual_seed(13);
        var x = torch.randn(new long[] { 2, 16, 20, 21 }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { 32, 16, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        var bias = torch.randn(new long[] { 32 });
        using (torch.no_grad())
        {
            var ours = torch.nn.functional.conv2d(x, weight, bias, 2, 1);
            var aten = torch.nn.functional.conv2d(x, weight.detach().requires_grad_(), bias, 2, 1);
            Assert.True(ours.equal(aten));
        }
    }

    [Fact]
    public void ACachedWeightFollowsInPlaceChangesAndNewTensors()
    {
        // The shim keeps each weight in oneDNN's layout between calls. Changing the weight in place (its version
        // moves) or replacing it by another tensor, which may reuse the freed one's address, must give the new
        // weight's results, in the forward pass and in the input gradient.
        torch.manual_seed(17);
        var x = torch.randn(new long[] { 2, 8, 20, 20 }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { 8, 8, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        var before = ForwardAndInputGradient(x, weight, null, 1, 1);
        using (torch.no_grad())
            weight.mul_(-2);
        AssertSameAsAten(x, weight, ForwardAndInputGradient(x, weight, null, 1, 1));
        Assert.False(before.Output.equal(ForwardAndInputGradient(x, weight, null, 1, 1).Output));

        for (var i = 0; i < 3; i++)
        {
            using var inner = torch.NewDisposeScope();
            var replacement = torch.randn(new long[] { 8, 8, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
            AssertSameAsAten(x, replacement, ForwardAndInputGradient(x, replacement, null, 1, 1));
        }
    }

    private static void AssertSameAsAten(Tensor x, Tensor weight, (Tensor Output, Tensor Gradient) ours)
    {
        var aten = ForwardAndInputGradient(x, weight.detach().requires_grad_(), null, 1, 1);
        Assert.True(ours.Output.equal(aten.Output), "forward");
        Assert.True(ours.Gradient.equal(aten.Gradient), "input gradient");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ARectifierInsideTheConvolutionGivesTheSameValuesAndGradients(bool relu)
    {
        // The shim runs the ReLU / ReLU6 inside the cached convolution (a oneDNN post-op), with or without autograd;
        // while autograd records, one backward node masks the gradient and takes the input gradient. Values, first and
        // second derivatives must equal aten's conv2d followed by relu / hardtanh.
        torch.manual_seed(19);
        var x = torch.randn(new long[] { 2, 16, 20, 20 }).mul(3).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { 24, 16, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        var bias = torch.randn(new long[] { 24 });
        long[] one = { 1, 1 };
        Tensor Fused(Tensor input) => FrozenConvolution.Conv2dRectified(input, weight, bias, one, one, one, 1, relu6: !relu);
        Tensor Reference(Tensor input)
        {
            var y = torch.nn.functional.conv2d(input, weight.detach().requires_grad_(), bias, 1, 1);
            return relu ? y.relu() : y.clamp(0, 6);
        }

        using (torch.no_grad())
        {
            var fused = Fused(x);
            Assert.True(fused.equal(Reference(x)), "forward without autograd");
            Assert.True(fused.eq(0).sum().item<long>() > 0 && (relu || fused.eq(6).sum().item<long>() > 0),
                "the test must reach the rectifier's bounds");
        }
        var a = x.detach().requires_grad_();
        var b = x.detach().requires_grad_();
        var upstream = torch.randn(new long[] { 2, 24, 20, 20 });
        var fusedWithGraph = Fused(a);
        var reference = Reference(b);
        Assert.True(fusedWithGraph.equal(reference), "forward while autograd records");
        var ga = torch.autograd.grad(new[] { fusedWithGraph }, new[] { a }, new Tensor?[] { upstream })[0]!;
        var gb = torch.autograd.grad(new[] { reference }, new[] { b }, new Tensor?[] { upstream })[0]!;
        Assert.True(ga.equal(gb), "input gradient");
        // A gradient nobody else holds (the product's), which the node masks in place.
        var sole = torch.autograd.grad(new[] { (Fused(a) * upstream).sum() }, new[] { a })[0]!;
        Assert.True(sole.equal(torch.autograd.grad(new[] { (Reference(b) * upstream).sum() }, new[] { b })[0]!),
            "input gradient, masked in place");

        // create_graph: g = d/dx Σ upstream·y², then d/dx Σ g², through the fused node's backward twice (nonzero: g
        // depends on x through y).
        Tensor SecondDerivative(Tensor input, Tensor y)
        {
            var first = torch.autograd.grad(new[] { (y * y * upstream).sum() }, new[] { input }, retain_graph: true,
                create_graph: true)[0]!;
            return torch.autograd.grad(new[] { (first * first).sum() }, new[] { input })[0]!;
        }
        var c = x.detach().requires_grad_();
        var d = x.detach().requires_grad_();
        var secondFused = SecondDerivative(c, Fused(c));
        var secondReference = SecondDerivative(d, Reference(d));
        Assert.True(secondReference.abs().max().item<float>() > 0, "the second derivative must not vanish");
        Assert.True(secondFused.allclose(secondReference, rtol: 1e-5, atol: 1e-5), "second derivative");
    }

    public static TheoryData<long, long, long, long> GroupedCases => new()
    {
        // channels, groups, stride, size
        { 144, 144, 1, 56 },  // MobileNetV2's depthwise 3×3 layers (oneDNN's brdgmm_dw), stride 1 and 2
        { 144, 144, 2, 56 },
        { 960, 960, 1, 7 },
        { 32, 4, 1, 12 },     // grouped, not depthwise
    };

    [Theory]
    [MemberData(nameof(GroupedCases))]
    public void AGroupedConvolutionWithItsRectifierInsideGivesTheSameValuesAndGradients(long channels, long groups,
        long stride, long size)
    {
        // A grouped convolution takes the cached path with the ReLU6 inside (a oneDNN post-op), with and without
        // autograd; recorded, one node masks the gradient in place and takes the input gradient with oneDNN's
        // backward-data kernel. Values and input gradients must equal aten's conv2d followed by hardtanh (weights that
        // require grad: every op aten's own) to the last bit, and the cached weight must follow an in-place change of
        // the layer's weight.
        torch.manual_seed(29);
        var x = torch.randn(new long[] { 8, channels, size, size }).mul(3).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { channels, channels / groups, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        var bias = torch.randn(new long[] { channels });
        long[] strides = { stride, stride }, one = { 1, 1 };
        Tensor Fused(Tensor input) => FrozenConvolution.Conv2dRectified(input, weight, bias, strides, one, one, groups, relu6: true);
        Tensor Reference(Tensor input) =>
            torch.nn.functional.conv2d(input, weight.detach().requires_grad_(), bias, stride, 1, 1, groups).clamp(0, 6);

        using (torch.no_grad())
        {
            var fused = Fused(x);
            Assert.True(fused.equal(Reference(x)), "forward without autograd");
            Assert.True(fused.eq(0).sum().item<long>() > 0 && fused.eq(6).sum().item<long>() > 0,
                "the test must reach the rectifier's bounds");
            weight.mul_(-0.5);
            Assert.True(Fused(x).equal(Reference(x)), "forward after an in-place change of the weight");
        }
        var a = x.detach().requires_grad_();
        var b = x.detach().requires_grad_();
        var upstream = torch.randn(Reference(x).shape);
        var recorded = Fused(a);
        if (FrozenConvolution.Kept is not null)  // a shim built with oneDNN: the clamp ran inside the kernel, not in place after it
            Assert.Equal(0L, recorded._version());
        var ga = torch.autograd.grad(new[] { recorded }, new[] { a }, new Tensor?[] { upstream })[0]!;
        var gb = torch.autograd.grad(new[] { Reference(b) }, new[] { b }, new Tensor?[] { upstream })[0]!;
        Assert.True(ga.equal(gb), "input gradient");
    }

    public static TheoryData<long, long, long, long, bool, bool> AccumulateCases => new()
    {
        // in channels, out channels, kernel, size, bias, ReLU after the sum
        { 16, 64, 1, 12, true, true },      // a Bottleneck's last 1×1 convolution (oneDNN's brgconv_1x1)
        { 16, 16, 3, 12, true, true },      // a BasicBlock's last 3×3 convolution (brgconv)
        { 16, 16, 3, 28, true, true },      // one of 28×29 pixels: on AVX2 its forward runs in nChw8c, the sum after it
        { 16, 64, 1, 12, false, false },    // no bias, no ReLU
        // ResNet-50's four last-convolution shapes at 224×224 input (the reduction over input channels in blocks)
        { 64, 256, 1, 56, true, true },
        { 128, 512, 1, 28, true, true },
        { 256, 1024, 1, 14, true, true },
        { 512, 2048, 1, 7, true, true },
    };

    [Theory]
    [MemberData(nameof(AccumulateCases))]
    public void AResidualSumInsideTheConvolutionGivesTheSameValuesAndGradients(long channels, long outChannels,
        long kernel, long size, bool withBias, bool relu)
    {
        // The shim adds the accumulator and applies the ReLU inside the cached convolution (oneDNN's sum and eltwise
        // post-ops): without autograd into the accumulator itself, while autograd records into a copy of it (one
        // backward node masks the gradient, hands it to the accumulator and takes the input gradient). Values and the
        // gradients of both inputs must equal aten's conv2d, add and relu to the last bit.
        torch.manual_seed(23);
        var x = torch.randn(new long[] { 16, channels, size, size + 1 }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, channels, kernel, kernel }).contiguous(MemoryFormat.ChannelsLast);
        var bias = withBias ? torch.randn(new long[] { outChannels }) : null;
        var accumulator = torch.randn(new long[] { 16, outChannels, size, size + 1 }).mul(4).contiguous(MemoryFormat.ChannelsLast);
        var kept = accumulator.clone();
        long[] one = { 1, 1 }, pad = { kernel / 2, kernel / 2 };
        Tensor Fused(Tensor input, Tensor acc) => FrozenConvolution.Conv2dAccumulate(input, weight, bias, one, pad, one, 1, acc, relu);
        Tensor Reference(Tensor input, Tensor? acc = null)
        {
            var y = torch.nn.functional.conv2d(input, weight.detach().requires_grad_(), bias, 1, kernel / 2).add(acc ?? kept);
            return relu ? y.relu() : y;
        }

        using (torch.no_grad())
        {
            var reference = Reference(x);
            var blockedBefore = FrozenConvolution.BlockedLayoutForwardsOnThisThread;
            var fused = Fused(x, accumulator);
            Assert.True(fused.equal(reference), "forward without autograd");
            // On AVX2 (no brgemm kernels, nChw8c) a 3×3 layer of 14×14 to 64×64 pixels takes the blocked-layout forward,
            // whose sums are the channels-last kernel's, with the residual sum added after it.
            var blockedHere = BlockedLayoutForwardTests.TakenOnThisCpu && kernel == 3 &&
                              size * (size + 1) >= 14 * 14 && size * (size + 1) <= 64 * 64;
            Assert.Equal(blockedBefore + (blockedHere ? 1 : 0), FrozenConvolution.BlockedLayoutForwardsOnThisThread);
            // One kernel where oneDNN's brgemm kernels run (AVX-512); elsewhere a separate add, into a new tensor.
            if (OneDnnKernels.Brgemm == true)
                Assert.True(accumulator.equal(reference), "without autograd the sum is written into the accumulator (one kernel)");
            else
                Assert.True(accumulator.equal(kept), "without brgemm kernels the accumulator is left as it was (a separate add)");
            Assert.True(!relu || fused.eq(0).sum().item<long>() > 0, "the test must reach the ReLU's bound");

            var contiguous = kept.contiguous();  // a layout the kernel cannot accumulate into: separate ops
            Assert.True(Fused(x, contiguous).equal(reference), "forward, accumulator in another layout");
            Assert.True(contiguous.equal(kept), "an accumulator the kernel cannot take is left as it was");
        }
        var a = x.detach().requires_grad_();
        var b = x.detach().requires_grad_();
        var upstream = torch.randn(new long[] { 16, outChannels, size, size + 1 });
        var recorded = kept.clone().requires_grad_();
        var referenceAccumulator = kept.clone().requires_grad_();
        var fusedWithGraph = Fused(a, recorded);
        Assert.True(recorded.equal(kept), "while autograd records, the accumulator is left as it was");
        var referenceWithGraph = Reference(b, referenceAccumulator);
        Assert.True(fusedWithGraph.equal(referenceWithGraph), "forward while autograd records");
        var ga = torch.autograd.grad(new[] { fusedWithGraph }, new[] { a, recorded }, new Tensor?[] { upstream });
        var gb = torch.autograd.grad(new[] { referenceWithGraph }, new[] { b, referenceAccumulator }, new Tensor?[] { upstream });
        Assert.True(ga[0]!.equal(gb[0]!), "input gradient");
        Assert.True(ga[1]!.equal(gb[1]!), "accumulator gradient");

        // A gradient nobody else holds, masked in place: the accumulator's gradient is that same tensor, the input's
        // is computed from it first.
        var sole = torch.autograd.grad(new[] { (Fused(a, recorded) * upstream).sum() }, new[] { a, recorded });
        var soleReference = torch.autograd.grad(new[] { (Reference(b, referenceAccumulator) * upstream).sum() },
            new[] { b, referenceAccumulator });
        Assert.True(sole[0]!.equal(soleReference[0]!), "input gradient, masked in place");
        Assert.True(sole[1]!.equal(soleReference[1]!), "accumulator gradient, masked in place");

        // Only the accumulator requires a gradient.
        var onlyAccumulator = torch.autograd.grad(new[] { Fused(x, recorded) }, new[] { recorded }, new Tensor?[] { upstream })[0]!;
        Assert.True(onlyAccumulator.equal(gb[1]!), "accumulator gradient when the input needs none");
    }

    [Theory]
    // kernel, size, in channels, out channels
    [InlineData(1, 16, 32, 32)]      // a 1×1 first convolution: its input gradient becomes a forward kernel with a sum,
    [InlineData(1, 56, 256, 64)]     // at ResNet-50's identity blocks' shapes (layer1 .. layer4)
    [InlineData(1, 28, 512, 128)]
    [InlineData(1, 14, 1024, 256)]
    [InlineData(1, 7, 2048, 512)]
    [InlineData(3, 28, 32, 32)]      // a BasicBlock's first 3×3 convolution over 28×28: the rotated-kernel forward, with a sum
    [InlineData(3, 12, 32, 32)]      // a small 3×3 layer: oneDNN's backward-data kernel, then an in-place add
    public void AnInputPassedOnForTheShortcutGetsItsGradientAddedInTheConvolution(long kernel, long size, long channels,
        long outChannels)
    {
        // relu(conv(x)) and x passed on: while autograd records, the passed input is the convolution node's second
        // output, and the gradient it receives is added to the convolution's input gradient inside that node. The
        // input's gradient must be the convolution path's plus the shortcut's, to the last bit (the sum is rounded
        // once either way), and equal aten's (conv2d, relu, the engine's sum of both paths): exactly where the input
        // gradient is oneDNN's backward-data kernel or, for 1×1 layers, the forward kernel over the transposed weight
        // (the same products in the same order); within float rounding for the rotated 3×3 kernel (class summary).
        torch.manual_seed(37);
        var x = torch.randn(new long[] { 16, channels, size, size }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, channels, kernel, kernel }).contiguous(MemoryFormat.ChannelsLast);
        var bias = torch.randn(new long[] { outChannels });
        long[] one = { 1, 1 }, pad = { kernel / 2, kernel / 2 };
        var outputUpstream = torch.randn(new long[] { 16, outChannels, size, size });
        var shortcutUpstream = torch.randn(new long[] { 16, channels, size, size }).contiguous(MemoryFormat.ChannelsLast);
        Tensor Reference(Tensor input) =>
            torch.nn.functional.conv2d(input, weight.detach().requires_grad_(), bias, 1, kernel / 2).relu();

        var a = x.detach().requires_grad_();
        var (output, passed) = FrozenConvolution.Conv2dRectifiedPassingInput(a, weight, bias, one, pad, one, relu6: false);
        var b = x.detach().requires_grad_();
        var reference = Reference(b);
        Assert.True(output.equal(reference), "forward");
        Assert.True(passed.equal(x), "the passed input holds the input's values");
        // A shim built without oneDNN (a libtorch with its oneDNN built in, as PyTorch's wheels) leaves the layer to
        // aten and hands the input back as it is; the gradients below must be the same either way.
        if (OneDnnKernels.Brgemm is null) Assert.True(passed.is_leaf, "without oneDNN the input itself comes back");
        else Assert.False(passed.is_leaf, "the passed input has the convolution as its history");

        var outputOnly = torch.autograd.grad(new[] { output }, new[] { a }, new Tensor?[] { outputUpstream }, retain_graph: true)[0]!;
        var atenOutputOnly = torch.autograd.grad(new[] { reference }, new[] { b }, new Tensor?[] { outputUpstream }, retain_graph: true)[0]!;
        var expected = outputOnly + shortcutUpstream;
        var exactlyAten = kernel == 1 || size < 28;
        void AssertSum(Tensor gradient, string what)
        {
            Assert.True(gradient.equal(expected), what);
            var aten = atenOutputOnly + shortcutUpstream;
            Assert.True(exactlyAten ? gradient.equal(aten) : gradient.allclose(aten, rtol: 1e-5, atol: 1e-4), what + ", against aten");
        }
        Assert.True(exactlyAten ? outputOnly.equal(atenOutputOnly) : outputOnly.allclose(atenOutputOnly, rtol: 1e-5, atol: 1e-4),
            "input gradient without the shortcut");

        // The shortcut's gradient made by a product (nobody else holds it: summed inside the kernel) ...
        AssertSum(torch.autograd.grad(new[] { (output * outputUpstream).sum() + (passed * shortcutUpstream).sum() },
            new[] { a }, retain_graph: true)[0]!, "input gradient, shortcut gradient summed in the node");
        // ... and one the caller holds (added separately), and the shortcut alone.
        AssertSum(torch.autograd.grad(new[] { output, passed }, new[] { a }, new Tensor?[] { outputUpstream, shortcutUpstream },
            retain_graph: true)[0]!, "input gradient, shortcut gradient held by the caller");
        Assert.True(shortcutUpstream.equal(torch.autograd.grad(new[] { passed }, new[] { a }, new Tensor?[] { shortcutUpstream },
            retain_graph: true)[0]!), "the passed input alone passes its gradient through");
        // create_graph through both outputs: d/dx Σ g² for g = d/dx (Σ u·output + Σ v·passed²) (nonzero: g depends on x
        // through the shortcut's square and the rectified output).
        Tensor Second(Tensor input, Tensor y, Tensor shortcut)
        {
            var first = torch.autograd.grad(new[] { (y * outputUpstream).sum() + (shortcut * shortcut * shortcutUpstream).sum() },
                new[] { input }, retain_graph: true, create_graph: true)[0]!;
            return torch.autograd.grad(new[] { (first * first).sum() }, new[] { input })[0]!;
        }
        Assert.True(Second(a, output, passed).allclose(Second(b, reference, b), rtol: 1e-4, atol: 1e-3), "second derivative");

        using (torch.no_grad())
        {
            var (plain, same) = FrozenConvolution.Conv2dRectifiedPassingInput(x, weight, bias, one, pad, one, relu6: false);
            Assert.True(plain.equal(reference.detach()), "forward without autograd");
            Assert.True(same.equal(x), "without autograd the input itself comes back");
        }
    }

    [Fact]
    public void ARecordedConvolutionKeepsItsWeightAsAutogradDoes()
    {
        // The backward needs the weight as it was: changing it in place first is autograd's version error, not the
        // gradient of another weight; and a second backward without retain_graph is autograd's own error. The same
        // version check covers an input passed on for a shortcut.
        torch.manual_seed(13);
        var x = torch.randn(new long[] { 2, 8, 12, 12 }).contiguous(MemoryFormat.ChannelsLast).requires_grad_();
        var weight = torch.randn(new long[] { 8, 8, 3, 3 }).contiguous(MemoryFormat.ChannelsLast);
        long[] one = { 1, 1 };
        foreach (var rectified in new[] { false, true })
        {
            Tensor Run() => rectified
                ? FrozenConvolution.Conv2dRectified(x, weight, null, one, one, one, 1, relu6: false)
                : torch.nn.functional.conv2d(x, weight, null, 1, 1);
            var y = Run();
            using (torch.no_grad())
                weight.mul_(2);
            var changed = Assert.Throws<TorchException>(() => y.sum().backward());
            Assert.Contains("modified by an inplace operation", changed.Message);

            var z = Run();
            z.sum().backward();
            var again = Assert.Throws<TorchException>(() => z.sum().backward());
            Assert.Contains("second time", again.Message);
        }

        // An input passed on for a shortcut shares the input's version counter: changing it in place is seen by the
        // node that saved the input (here the rectifier inside the convolution before).
        var h = FrozenConvolution.Conv2dRectified(x, weight, null, one, one, one, 1, relu6: false);
        var (next, passed) = FrozenConvolution.Conv2dRectifiedPassingInput(h, weight, null, one, one, one, relu6: false);
        Assert.False(passed.is_leaf, "the shim's path passed the input on");
        using (torch.no_grad())
            passed.mul_(2);
        var throughPassed = Assert.Throws<TorchException>(() => (next.sum() + passed.sum()).backward());
        Assert.Contains("modified by an inplace operation", throughPassed.Message);
    }

    [Fact]
    public void AGradientOfTheGradientIsStillComputed()
    {
        // create_graph takes aten's differentiable backward: d/dx Σ (d/dx Σ conv(x))² is 0 for a linear map's
        // constant gradient, and the call must not fail.
        torch.manual_seed(5);
        var x = torch.randn(new long[] { 1, 3, 9, 9 }).requires_grad_();
        var weight = torch.randn(new long[] { 4, 3, 3, 3 });
        var y = torch.nn.functional.conv2d(x, weight, null, 1, 1);
        var first = torch.autograd.grad(new[] { (y * y).sum() }, new[] { x }, retain_graph: true, create_graph: true)[0]!;
        var second = torch.autograd.grad(new[] { first.sum() }, new[] { x })[0]!;
        Assert.Equal(x.shape, second.shape);
        Assert.True(second.abs().sum().item<float>() > 0, "d/dx of 2·convᵀ(conv(x)) is a nonzero linear map's");
    }

    internal static (Tensor Output, Tensor Gradient) ForwardAndInputGradient(Tensor x, Tensor weight, Tensor? bias,
        long stride, long padding)
    {
        var input = x.detach().requires_grad_();
        var output = torch.nn.functional.conv2d(input, weight, bias, stride, padding);
        var gradient = torch.autograd.grad(new[] { output }, new[] { input }, new Tensor?[] { Upstream(output) })[0]!;
        return (output.detach(), gradient);
    }

    // A fixed, non-uniform upstream gradient, the same for both paths.
    private static Tensor Upstream(Tensor output)
    {
        torch.manual_seed(11);
        return torch.randn(output.shape).to(output.dtype);
    }
}
