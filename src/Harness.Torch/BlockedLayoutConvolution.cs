namespace Harness.Torch;

/// <summary>
/// One rectified 3×3 stride-1 convolution of a pass without autograd run in oneDNN's blocked layout, on a CPU without
/// AVX-512: the channels-last input is reordered into <c>nChw8c</c>, convolved with the rectifier inside the kernel, and
/// the output reordered back. Why: oneDNN's jit:avx2 kernels are written for that layout, and run VGG's 3×3 layers of
/// 14×14 to 56×56 pixels 1.2–1.7× faster from it than from channels-last data (batch 8, 2 threads; the reorders cost
/// a few percent of the kernel there). Residual networks get this from <see cref="Modules.BlockedRun"/>, which keeps a whole span
/// blocked; this covers plain stacks of convolutions (VGG), whose pooling layers end every span. On AVX-512, oneDNN's
/// channels-last (brgemm) kernels are as fast as its blocked ones for such layers, so they stay channels-last.
/// <para>
/// Taken only where <see cref="BlockedActivation.Passes"/> lets passes without autograd run blocked (the default;
/// <c>MIPIN_BLOCKED_ACTIVATIONS=0</c> turns it off). Unlike a blocked run's, these values are aten's channels-last ones
/// to the last bit: oneDNN's jit:avx2 3×3 kernel sums the same products in the same order from either layout
/// (BlockedLayoutConvolutionTests). Recorded passes get the same kernel from the shim (frozen_conv2d.cpp,
/// blocked_layout_forward), inside their one autograd node per convolution.
/// </para>
/// </summary>
public static class BlockedLayoutConvolution
{
    /// <summary>Inputs over fewer pixels keep the channels-last kernel, as fast there.</summary>
    public const long MinPixels = 14 * 14;

    /// <summary>Inputs over more pixels keep the channels-last kernel: from 112×112 up the reorders cost what it gains.</summary>
    public const long MaxPixels = 64 * 64;

    /// <summary>How many convolutions have run here on the calling thread (tests check which passes take the path).</summary>
    internal static long RunOnThisThread => t_run;

    [ThreadStatic] private static long t_run;

    /// <summary>
    /// Whether <see cref="Forward"/> takes this convolution now: no autograd, blocked passes enabled, a CPU whose oneDNN
    /// runs channels-last convolutions with its AVX2 kernels, a channels-last float32 CPU input of 14×14 to 64×64 pixels
    /// with at least a block of channels, and a dense 3×3 stride-1 weight with the same padding on both axes.
    /// </summary>
    public static bool Takes(Tensor input, Tensor weight, long[] stride, long[] padding, long[] dilation, long groups)
    {
        if (torch.is_grad_enabled() || input.ndim != 4 || input.device.IsCuda || input.dtype != ScalarType.Float32) return false;
        if (groups != 1 || weight.shape[2] != 3 || weight.shape[3] != 3 || stride.Any(s => s != 1) || dilation.Any(d => d != 1) ||
            padding[0] != padding[1]) return false;
        var pixels = input.shape[2] * input.shape[3];
        if (pixels < MinPixels || pixels > MaxPixels || !input.is_contiguous(MemoryFormat.ChannelsLast)) return false;
        return BlockedActivation.Enabled && OneDnnKernels.Brgemm == false && input.shape[1] >= BlockedActivation.BlockChannels;
    }

    /// <summary>
    /// ReLU (or ReLU6 when <paramref name="relu6"/>) of conv2d(<paramref name="input"/>) with stride 1, computed in the
    /// blocked layout; a new channels-last tensor. Needs <see cref="Takes"/>.
    /// </summary>
    public static Tensor Forward(Tensor input, Tensor weight, Tensor? bias, long padding, bool relu6)
    {
        using var blocked = BlockedActivation.From(input);
        using var output = blocked.Conv2d(weight, bias, 1, padding, 1, relu6 ? OutputRectifier.ReLU6 : OutputRectifier.ReLU);
        t_run++;
        return output.ToChannelsLast();
    }
}
