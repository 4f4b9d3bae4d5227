using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// Dense 3×3 stride-1 convolutions of 14×14 to 64×64 pixels run their forward kernel in oneDNN's blocked layout on AVX2
/// (the shim's blocked_layout_forward, counted by <see cref="FrozenConvolution.BlockedLayoutForwardsOnThisThread"/>);
/// here, passes without autograd (recorded ones: FrozenConvolutionTests.ARecordedForwardPassIsAtensExactly). A
/// convolution that takes the path is checked against the same convolution and rectifier computed in float64 by aten
/// (float64 never takes the shim's kernels): within 2e-6 of its largest value, the bound Torch/BlockedActivationTests
/// holds every blocked kernel to; and against aten's float32 channels-last convolution, which it must equal to the last
/// bit (the same jit:avx2 kernel reading the other layout). Those that must not take it (other shapes) are checked to
/// stay aten's to the last bit.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BlockedLayoutForwardTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    /// <summary>
    /// Whether this CPU takes the blocked-layout forward at all: oneDNN's AVX2 kernels (no brgemm) with nChw8c blocks.
    /// Which layers then take it is the shim's decision, which the tests here and in FrozenConvolutionTests check.
    /// </summary>
    internal static bool TakenOnThisCpu => OneDnnKernels.Brgemm == false && BlockedActivation.BlockChannels == 8;

    public void Dispose() => _scope.Dispose();

    private static (Tensor X, Tensor Weight, Tensor Bias) Problem(long channels, long height, long width, long kernel = 3,
        long outChannels = 40)
    {
        torch.manual_seed(11);
        var x = torch.randn(new long[] { 2, channels, height, width }).contiguous(MemoryFormat.ChannelsLast);
        var weight = torch.randn(new long[] { outChannels, channels, kernel, kernel }).mul(0.2).contiguous(MemoryFormat.ChannelsLast);
        return (x, weight, torch.randn(new long[] { outChannels }));
    }

    private static Tensor Ours(Tensor x, Tensor weight, Tensor bias, bool relu6, long stride = 1, long padding = -1)
    {
        if (padding < 0) padding = weight.shape[2] / 2;
        return FrozenConvolution.Conv2dRectified(x, weight, bias, new[] { stride, stride }, new[] { padding, padding },
            new[] { 1L, 1L }, 1, relu6);
    }

    [SkippableTheory]
    [InlineData(32, 30, 30, false)]  // 900 pixels
    [InlineData(24, 14, 14, true)]   // the fewest pixels taken, ReLU6, 24 channels: three blocks of 8
    [InlineData(64, 64, 64, false)]  // the most
    public void APassWithoutAutogradOnAvx2RunsTheLayerBlocked(long channels, long height, long width, bool relu6)
    {
        Skip.IfNot(TakenOnThisCpu,
            "only on a CPU whose oneDNN runs AVX2 kernels (no AVX-512) with blocked-layout kernels");
        var (x, weight, bias) = Problem(channels, height, width);
        using var noGrad = torch.no_grad();
        var before = FrozenConvolution.BlockedLayoutForwardsOnThisThread;
        var ours = Ours(x, weight, bias, relu6);
        Assert.Equal(before + 1, FrozenConvolution.BlockedLayoutForwardsOnThisThread);
        Assert.True(ours.is_contiguous(MemoryFormat.ChannelsLast), "a channels-last input gets a channels-last output");
        var exact = torch.nn.functional.conv2d(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), bias.to(ScalarType.Float64),
            padding: 1);
        exact = relu6 ? exact.clamp(0, 6) : exact.relu();
        var scale = exact.abs().max().item<double>();
        var error = (ours.to(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
        Assert.True(error <= 2e-6, $"differs from the float64 convolution by {error:E2} of its largest value");
        var aten = torch.nn.functional.conv2d(x, weight.detach().requires_grad_(), bias, padding: 1);
        // oneDNN's jit:avx2 3×3 kernel reads nChw8c data with the same sums in the same order as channels-last data.
        Assert.True(ours.equal(relu6 ? aten.clamp(0, 6) : aten.relu()), "aten::conv2d's channels-last values to the last bit");
    }

    public static TheoryData<string> Exclusions => new()
    {
        "too few pixels", "too many pixels", "1×1", "stride 2", "padding 2", "channels not in whole blocks",
        "output channels not in whole blocks",
    };

    [Theory]
    [MemberData(nameof(Exclusions))]
    public void OtherConvolutionsStayAtensToTheLastBit(string which)
    {
        var (x, weight, bias) = which switch
        {
            "too few pixels" => Problem(32, 13, 15),  // 195 pixels
            "too many pixels" => Problem(32, 65, 64),
            "1×1" => Problem(32, 30, 30, kernel: 1),
            "channels not in whole blocks" => Problem(20, 30, 30),
            "output channels not in whole blocks" => Problem(32, 30, 30, outChannels: 36),
            _ => Problem(32, 30, 30),
        };
        var stride = which == "stride 2" ? 2L : 1L;
        var padding = which == "padding 2" ? 2L : weight.shape[2] / 2;
        using var noGrad = torch.no_grad();
        var before = FrozenConvolution.BlockedLayoutForwardsOnThisThread;
        var ours = Ours(x, weight, bias, relu6: false, stride, padding);
        Assert.Equal(before, FrozenConvolution.BlockedLayoutForwardsOnThisThread);
        // A weight that requires a gradient keeps aten's own kernel (the shim takes frozen weights only).
        var aten = torch.nn.functional.conv2d(x, weight.detach().requires_grad_(), bias, stride, padding).relu_();
        Assert.True(ours.equal(aten), "aten::conv2d's values, unchanged");
    }
}
