using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// Activations in oneDNN's blocked layout, nChw16c on AVX-512 and nChw8c on AVX2 (<see cref="BlockedActivation"/>).
/// The layout is checked against its definition built by hand with aten (channel c of pixel (h, w) at
/// [n, c / B, h, w, c % B] with B channels per block, padding channels zero), and each blocked convolution against the same convolution, rectifier and sum computed in float64 by aten
/// (another code path: float64 never takes the shim's kernels): the float32 result must be within 2e-6 of its largest
/// value, as close as PyTorch's own float32 kernel is (Torch/FrozenConvolutionTests). Recorded convolutions' input and
/// accumulator gradients are held to the same bound against float64 autograd, except the input gradient of 3×3
/// stride-1 layers, which under the default algorithm is the Winograd kernel's (ConvolutionKind.WinogradGradients):
/// 1e-5, its stated tolerance (Torch/WinogradConvolutionTests checks that it runs).
/// </summary>
public sealed class BlockedActivationTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    /// <summary>Skips the calling test where this shim or CPU has no blocked activations.</summary>
    internal static void SkipUnlessAvailable() =>
        Skip.IfNot(BlockedActivation.Available, "no blocked activations: a shim built without oneDNN's headers, or a CPU without AVX-512 or AVX2");

    [SkippableTheory]
    [InlineData(24, false)]  // two blocks of 16, the second half padding (three of 8); from contiguous data
    [InlineData(24, true)]
    [InlineData(20, true)]   // padding in either block size
    [InlineData(32, true)]
    [InlineData(3, true)]    // an image: plain contiguous data
    public void AnActivationGoesIntoTheBlockedLayoutAndBackUnchanged(long channels, bool channelsLast)
    {
        SkipUnlessAvailable();
        torch.manual_seed(3);
        var x = torch.randn(new long[] { 2, channels, 5, 7 });
        if (channelsLast) x = x.contiguous(MemoryFormat.ChannelsLast);
        var before = x.clone();
        using var blocked = BlockedActivation.From(x);
        Assert.Equal(channels, blocked.Channels);
        var block = BlockedActivation.BlockChannels;
        if (channels < block)
        {
            Assert.False(blocked.IsBlocked);
            Assert.True(blocked.Data.is_contiguous() && blocked.Data.equal(x));
        }
        else
        {
            var blocks = (channels + block - 1) / block;
            var padded = torch.zeros(new long[] { 2, blocks * block, 5, 7 });
            padded.narrow(1, 0, channels).copy_(x);
            var expected = padded.reshape(2, blocks, block, 5, 7).permute(0, 1, 3, 4, 2).contiguous();
            Assert.True(blocked.IsBlocked);
            Assert.Equal(new[] { 2L, blocks, 5, 7, block }, blocked.Data.shape);
            Assert.True(blocked.Data.equal(expected), $"{BlockedActivation.LayoutName}, with zeros past the last channel");
        }
        var back = blocked.ToChannelsLast();
        Assert.True(back.is_contiguous(MemoryFormat.ChannelsLast));
        Assert.True(back.equal(x), "back in channels-last, unchanged");
        Assert.True(x.equal(before), "the source is left as it was");
    }

    public static TheoryData<long, long, long, long, long, int, bool, bool> Convolutions => new()
    {
        // in, out channels, kernel, stride, groups, rectifier (0 none, 1 ReLU, 2 ReLU6), bias, accumulate
        { 3, 32, 3, 2, 1, 2, true, false },     // MobileNetV2's stem, from a plain image
        { 24, 144, 1, 1, 1, 2, true, false },   // an expansion from a padded block
        { 144, 144, 3, 2, 144, 2, true, false },  // a depthwise layer, stride 2
        { 144, 24, 1, 1, 1, 0, true, true },    // a projection summed into the block's input (24 channels: padded)
        { 64, 64, 3, 1, 1, 1, false, true },    // a ResNet block's last convolution: sum, then ReLU
        { 32, 48, 3, 2, 1, 1, true, false },    // 3×3 stride 2
        { 40, 20, 3, 1, 1, 1, true, true },     // padded input and output blocks in either block size (8 or 16)
    };

    // Seeded random data for one row of Convolutions: a 3 × C × 23 × 17 channels-last input, a weight scaled by 0.3,
    // the bias, the padding (k / 2) and an addend of the output's sizes.
    private static (Tensor X, Tensor Weight, Tensor? Bias, long Padding, Tensor Addend) Problem(ulong seed, long inChannels,
        long outChannels, long kernel, long stride, long groups, bool withBias)
    {
        torch.manual_seed(seed);
        var x = torch.randn(new long[] { 3, inChannels, 23, 17 }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, inChannels / groups, kernel, kernel }).mul(0.3);
        var bias = withBias ? torch.randn(new long[] { outChannels }) : null;
        var padding = kernel / 2;
        var outSize = new[] { (23 + 2 * padding - kernel) / stride + 1, (17 + 2 * padding - kernel) / stride + 1 };
        var addend = torch.randn(new long[] { 3, outChannels, outSize[0], outSize[1] }).contiguous(MemoryFormat.ChannelsLast);
        return (x, weight, bias, padding, addend);
    }

    [SkippableTheory]
    [MemberData(nameof(Convolutions))]
    public void ABlockedConvolutionComputesTheConvolution(long inChannels, long outChannels, long kernel, long stride,
        long groups, int rectifier, bool withBias, bool accumulate)
    {
        SkipUnlessAvailable();
        var (x, weight, bias, padding, addend) = Problem(11, inChannels, outChannels, kernel, stride, groups, withBias);

        using var noGrad = torch.no_grad();
        var exact = torch.nn.functional.conv2d(x.to(ScalarType.Float64), weight.to(ScalarType.Float64),
            bias?.to(ScalarType.Float64), stride, padding, groups: groups);
        if (accumulate) exact = exact + addend.to(ScalarType.Float64);
        exact = rectifier switch { 1 => exact.relu(), 2 => exact.clamp(0, 6), _ => exact };

        using var input = BlockedActivation.From(x);
        using var accumulator = accumulate ? BlockedActivation.From(addend) : null;
        var post = rectifier switch { 1 => OutputRectifier.ReLU, 2 => OutputRectifier.ReLU6, _ => OutputRectifier.None };
        var output = input.Conv2d(weight, bias, stride, padding, groups, post, accumulator);
        Assert.True(output.IsBlocked);
        Assert.Equal(outChannels, output.Channels);
        if (accumulate) Assert.Same(accumulator, output);
        var ours = output.ToChannelsLast();
        var scale = exact.abs().max().item<double>();
        var error = (ours.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
        Assert.True(error <= 2e-6, $"differs from the float64 convolution by {error:E2} of its largest value");
        // The padding channels of a partly filled last block stay zero, so the next layer reads zeros there.
        var block = BlockedActivation.BlockChannels;
        if (outChannels % block != 0)
            Assert.Equal(0.0, output.Data.narrow(1, output.Data.shape[1] - 1, 1).narrow(4, outChannels % block, block - outChannels % block)
                .abs().max().item<float>());
    }

    public static TheoryData<long, long, long, long, long, int, bool, bool> RecordedConvolutions
    {
        get
        {
            var data = new TheoryData<long, long, long, long, long, int, bool, bool>();
            foreach (var row in Convolutions)
                if ((long)row[0] >= 16)  // a recorded run never starts at an image
                    data.Add((long)row[0], (long)row[1], (long)row[2], (long)row[3], (long)row[4], (int)row[5], (bool)row[6], (bool)row[7]);
            return data;
        }
    }

    [SkippableTheory]
    [MemberData(nameof(RecordedConvolutions))]
    public void ARecordedBlockedConvolutionGivesTheGradientsOfItsInputAndAccumulator(long inChannels, long outChannels,
        long kernel, long stride, long groups, int rectifier, bool withBias, bool accumulate)
    {
        // The reference: the same convolution, sum and rectifier in float64, differentiated by aten's autograd; ours goes
        // into the blocked layout, through the convolution and back, each step recorded by the shim.
        SkipUnlessAvailable();
        var (x, weight, bias, padding, addend) = Problem(12, inChannels, outChannels, kernel, stride, groups, withBias);
        var upstream = torch.randn(addend.shape);

        var leaf = x.detach().requires_grad_();
        var addendLeaf = addend.detach().requires_grad_();
        var addendBefore = addend.clone();
        using var input = BlockedActivation.From(leaf);
        using var accumulator = accumulate ? BlockedActivation.From(addendLeaf) : null;
        var post = rectifier switch { 1 => OutputRectifier.ReLU, 2 => OutputRectifier.ReLU6, _ => OutputRectifier.None };
        using var output = input.Conv2d(weight, bias, stride, padding, groups, post, accumulator);
        Assert.NotSame(accumulator, output);  // recorded: the sum goes into a copy
        if (accumulate) Assert.True(accumulator!.ToChannelsLast().equal(addendBefore), "the accumulator is left as it was");
        var ours = output.ToChannelsLast();
        Assert.True(ours.requires_grad);
        var actual = torch.autograd.grad(new[] { ours }, accumulate ? new[] { leaf, addendLeaf } : new[] { leaf }, new Tensor?[] { upstream });

        // The rectifier's gate is the forward pass's decision (checked against float64 above), so the reference takes it
        // from our output: float64 would decide otherwise where a pre-activation lies within rounding of the kink.
        var gate = rectifier switch
        {
            1 => ours.detach().gt(0),
            2 => ours.detach().gt(0).logical_and(ours.detach().lt(6)),
            _ => torch.ones_like(ours).gt(0),
        };
        var x64 = x.to(ScalarType.Float64).requires_grad_();
        var addend64 = addend.to(ScalarType.Float64).requires_grad_();
        var exact = torch.nn.functional.conv2d(x64, weight.to(ScalarType.Float64), bias?.to(ScalarType.Float64), stride, padding, groups: groups);
        if (accumulate) exact = exact + addend64;
        exact = exact * gate.to(ScalarType.Float64);
        var expected = torch.autograd.grad(new[] { exact }, accumulate ? new[] { x64, addend64 } : new[] { x64 },
            new Tensor?[] { upstream.to(ScalarType.Float64) });
        for (var i = 0; i < expected.Length; i++)
        {
            var what = i == 0 ? "input gradient" : "accumulator gradient";
            Assert.Equal(expected[i]!.shape, actual[i]!.shape);
            var scale = expected[i]!.abs().max().item<double>();
            var error = (actual[i]!.to(ScalarType.Float64) - expected[i]!).abs().max().item<double>() / scale;
            var winograd = i == 0 && kernel == 3 && stride == 1 && groups == 1 && ConvolutionAlgorithm.Current != ConvolutionKind.Direct;
            Assert.True(error <= (winograd ? 1e-5 : 2e-6), $"{what} differs from float64 autograd's by {error:E2} of its largest value");
        }
    }

    [SkippableFact]
    public void ARecordedBlockedConvolutionCannotBeDifferentiatedTwice()
    {
        SkipUnlessAvailable();
        torch.manual_seed(13);
        var leaf = torch.randn(new long[] { 2, 16, 5, 5 }).requires_grad_();
        using var input = BlockedActivation.From(leaf);
        using var output = input.Conv2d(torch.randn(new long[] { 16, 16, 1, 1 }), null, 1, 0, 1, OutputRectifier.ReLU);
        var error = Assert.Throws<TorchException>(() =>
            torch.autograd.grad(new[] { output.ToChannelsLast().sum() }, new[] { leaf }, create_graph: true));
        Assert.Contains(BlockedActivation.EnvironmentVariable + "=0", error.Message);
    }

    [Theory]
    [InlineData(null, BlockedPasses.WithoutAutograd)]
    [InlineData("1", BlockedPasses.WithoutAutograd)]
    [InlineData("0", BlockedPasses.None)]
    [InlineData("all", BlockedPasses.All)]
    [InlineData(" ALL ", BlockedPasses.All)]
    public void TheSettingIsRead(string? value, BlockedPasses expected) => Assert.Equal(expected, BlockedActivation.Parse(value));

    [Fact]
    public void AnUnknownSettingNamesTheValidOnes()
    {
        var error = Assert.Throws<InvalidOperationException>(() => BlockedActivation.Parse("yes"));
        Assert.Contains("MIPIN_BLOCKED_ACTIVATIONS=yes", error.Message);
        Assert.Contains("all", error.Message);
    }

    [SkippableFact]
    public void AConvolutionChecksTheChannelsItIsGiven()
    {
        // The blocked data of 24 channels has 32 slots: a weight for 32 input channels would silently read the padding.
        SkipUnlessAvailable();
        using var noGrad = torch.no_grad();
        using var x = BlockedActivation.From(torch.randn(new long[] { 1, 24, 5, 5 }));
        Assert.Throws<ArgumentException>(() => x.Conv2d(torch.randn(new long[] { 16, 32, 1, 1 }), null, 1, 0, 1));
        using var accumulator = BlockedActivation.From(torch.randn(new long[] { 1, 32, 5, 5 }));
        Assert.Throws<ArgumentException>(() => x.Conv2d(torch.randn(new long[] { 16, 24, 1, 1 }), null, 1, 0, 1, accumulator: accumulator));
    }

    [SkippableFact]
    public void OverrideHoldsForTheCallingFlowUntilDisposed()
    {
        SkipUnlessAvailable();
        using (BlockedActivation.Override(false))
        {
            Assert.False(BlockedActivation.Enabled);
            using (BlockedActivation.Override(true)) Assert.True(BlockedActivation.Enabled);
            Assert.False(BlockedActivation.Enabled);
            Assert.False(Task.Run(() => BlockedActivation.Enabled).Result, "a task started here inherits the override");
            using (BlockedActivation.Override(BlockedPasses.All)) Assert.Equal(BlockedPasses.All, BlockedActivation.Passes);
            Assert.Equal(BlockedPasses.None, BlockedActivation.Passes);
        }
    }
}
