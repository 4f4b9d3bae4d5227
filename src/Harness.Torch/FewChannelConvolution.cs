namespace Harness.Torch;

/// <summary>
/// Convolutions over an input of at most <see cref="MaxInputChannels"/> channels (an image) whose input gradient is
/// wanted: the first layer of a saliency gradient. The forward pass is <c>aten::conv2d</c>'s; the input gradient is
/// one matrix product and a scatter (the shim's <c>few_channel_conv2d.cpp</c>), 2–3× faster on the CPU than oneDNN's
/// backward-data kernel, which vectorises over the three input channels. It equals aten's gradient up to float
/// rounding (about 1e-7 of its largest value; it is the last operation of the backward pass, so nothing amplifies
/// it). <see cref="torch.nn.functional.conv2d(Tensor, Tensor, Tensor?, long[], long[], long[], long)"/> takes this path
/// by itself; the shim runs aten::conv2d for anything it does not cover (a GPU, a weight that requires a gradient, a
/// build without oneDNN).
/// </summary>
internal static class FewChannelConvolution
{
    /// <summary>The most input channels the path takes (grey, RGB, RGBA).</summary>
    public const long MaxInputChannels = 4;

    /// <summary>Whether a convolution with these settings is worth handing to the shim's path (it checks the rest).</summary>
    public static bool Applies(Tensor input, Tensor weight, long[] stride, long[] padding, long[] dilation, long groups) =>
        groups == 1 && stride.Length == 2 && padding.Length == 2 && dilation.Length == 2 &&
        dilation[0] == 1 && dilation[1] == 1 &&
        weight.dim() == 4 && weight.size(1) <= MaxInputChannels && input.requires_grad && torch.is_grad_enabled();

    /// <summary>The convolution through the shim's path.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding)
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_few_channels(
            input.Handle, weight.Handle, bias?.Handle ?? 0, stride[0], stride[1], padding[0], padding[1], out var result));
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return Tensor.FromHandle(result);
    }
}
