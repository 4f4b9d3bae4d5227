namespace Harness.Torch;

/// <summary>
/// Convolutions with a frozen weight, which is every convolution of an attribution method (the shim's
/// <c>native/src/frozen_conv2d.cpp</c>). On the CPU, on channels-last data, they run the oneDNN primitive
/// <c>aten::conv2d</c> runs, with the primitive and the weight in oneDNN's layout kept between calls (libtorch reorders
/// every weight on every call), so forward values are PyTorch's to the last bit. While autograd records, the input
/// gradient is oneDNN's backward-data kernel, cached the same way, except where that kernel is slow:
/// <list type="bullet">
/// <item>over an image's 1–4 channels, one matrix product and a scatter (the kernel vectorises over the three input
/// channels and runs 4–7× slower than the layer's forward pass);</item>
/// <item>for 3×3 stride-1 layers over at least 28×28 pixels in channels-last layout, on CPUs where oneDNN's forward
/// kernels are its brgemm ones (AVX-512, <see cref="OneDnnKernels.Brgemm"/>), a forward convolution with the kernel
/// rotated and its channel axes swapped (oneDNN 2.6's backward-data kernel runs up to 2× slower there; on AVX2 it is
/// the faster, and runs);</item>
/// <item>for the same layers up to 64×64 pixels on AVX2, the backward-data kernel in oneDNN's blocked nChw8c layout,
/// the gradient reordered in and the result out (the jit:avx2 kernel runs 1.4–1.8× faster in the layout it is written
/// for; 1.2–1.7× with the reorders).</item>
/// <item>for 1×1 stride-1 layers with a residual shortcut's gradient to add (<see cref="Conv2dRectifiedPassingInput"/>),
/// the forward kernel over the transposed weight with the sum inside it (bit-identical on this CPU).</item>
/// </list>
/// The first two sum the same products in another order, so they equal PyTorch's gradient up to float rounding (about
/// 1e-7 of its largest value per layer; ReLU gates come from the unchanged forward pass, so nothing amplifies it). The
/// third is the channels-last kernel reading the other layout: PyTorch's gradient to the last bit. On AVX2 those layers'
/// forward kernel also runs, from 14×14 pixels, on nChw8c copies of the input, with autograd recording or not, with the
/// same values (<see cref="BlockedLayoutForwardsOnThisThread"/>; the shim decides, frozen_conv2d.cpp's
/// blocked_layout_forward).
/// <see cref="torch.nn.functional.conv2d(Tensor, Tensor, Tensor?, long[], long[], long[], long)"/> takes this path by
/// itself for one group; grouped (depthwise) convolutions take it through <see cref="Conv2dRectified"/> without
/// autograd only. The shim runs aten::conv2d and its backward for anything it does not cover (a GPU, contiguous data, a
/// weight that requires a gradient, a build without oneDNN).
/// </summary>
internal static class FrozenConvolution
{
    /// <summary>
    /// How many convolutions, recorded or not, have run their forward kernel on nChw8c copies of their input on the
    /// calling thread (AVX2; tests check which layers take it).
    /// </summary>
    internal static long BlockedLayoutForwardsOnThisThread
    {
        get
        {
            Native.NativeMethods.Check(Native.NativeMethods.mt_blocked_layout_forwards(out var count));
            return count;
        }
    }

    /// <summary>The most input channels the matrix-product gradient takes (grey, RGB, RGBA); the shim's limit too.</summary>
    public const long MaxImageChannels = 4;

    /// <summary>Whether a convolution is worth handing to the shim's path (it checks the rest).</summary>
    public static bool Applies(long[] stride, long[] padding, long[] dilation, long groups, Tensor weight) =>
        groups == 1 && Covers(stride, padding, dilation, weight);

    // 2-D, dilation 1, a frozen weight: what the shim's path takes (grouped convolutions only in Conv2dRectified).
    private static bool Covers(long[] stride, long[] padding, long[] dilation, Tensor weight) =>
        stride.Length == 2 && padding.Length == 2 && dilation.Length == 2 &&
        dilation[0] == 1 && dilation[1] == 1 && !weight.requires_grad;

    /// <summary>
    /// Whether the convolution takes oneDNN's Winograd path instead (<see cref="ConvolutionAlgorithm"/>): under
    /// <see cref="ConvolutionKind.Winograd"/>, its 3×3 stride-1 layers, except over an image's few channels, where this
    /// path's input gradient is the faster one.
    /// </summary>
    public static bool WinogradTakes(Tensor weight, long[] stride, long[] padding, long[] dilation, long groups) =>
        ConvolutionAlgorithm.Applies(weight, stride, padding, dilation, groups) && weight.size(1) > MaxImageChannels;

    /// <summary>
    /// What the shim keeps between calls: the bytes of weights in oneDNN's layout (of live weights, and of freed
    /// weights, a disposed model's, whose copies go when the shim next keeps a new one) and the number of prepared
    /// primitives. Null when the shim was built without oneDNN and keeps nothing.
    /// </summary>
    public static KeptConvolutions? Kept
    {
        get
        {
            Native.NativeMethods.Check(Native.NativeMethods.mt_frozen_cache_contents(out var live, out var freed, out var primitives));
            return live < 0 ? null : new KeptConvolutions(live, freed, primitives);
        }
    }

    /// <summary>The convolution through the shim's path.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding)
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_frozen(
            input.Handle, weight.Handle, bias?.Handle ?? 0, stride[0], stride[1], padding[0], padding[1], out var result));
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return Tensor.FromHandle(result);
    }

    /// <summary>
    /// conv2d then an in-place ReLU, or ReLU6 when <paramref name="relu6"/>, with <see cref="Tensor.relu_"/>'s /
    /// <see cref="Tensor.relu6_"/>'s values and gradients; the shim runs the rectifier inside the cached convolution,
    /// also while autograd records (one backward node then masks the gradient in place and takes the input gradient).
    /// Grouped convolutions (MobileNetV2's depthwise layers) too; their input gradient is oneDNN's backward-data kernel,
    /// the one aten runs for them, with its weight kept in oneDNN's layout. On AVX2 the shim runs dense 3×3 stride-1
    /// layers of 14×14 to 64×64 pixels in oneDNN's blocked layout, with aten's values (the class summary).
    /// </summary>
    public static Tensor Conv2dRectified(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding,
        long[] dilation, long groups, bool relu6)
    {
        if (WinogradTakes(weight, stride, padding, dilation, groups) || !Covers(stride, padding, dilation, weight))
        {
            var y = torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups);
            return relu6 ? y.relu6_() : y.relu_();
        }
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_frozen_rectified(input.Handle, weight.Handle,
            bias?.Handle ?? 0, stride[0], stride[1], padding[0], padding[1], groups, relu6 ? 0 : 1, 0.0, 6.0, out var result));
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return Tensor.FromHandle(result);
    }

    /// <summary>
    /// <see cref="Conv2dRectified"/> with one group, and <paramref name="input"/> passed on for a residual block's
    /// identity shortcut. While autograd records on the shim's frozen path, <c>PassedInput</c> is a new tensor over the
    /// input's memory whose history is this convolution's backward: the shortcut's gradient then arrives there and is
    /// added to this convolution's input gradient inside its kernel (for 1×1 and large 3×3 stride-1 layers), so the
    /// block input's two gradients are never summed into a third activation (where the kernel cannot take the sum, it
    /// is an in-place add). Otherwise it is the input (an alias, or the same tensor under a new handle). The caller
    /// owns both tensors. Values are the input's; the input gradient is the same sum. Its 1×1 layers' part is then
    /// oneDNN's forward kernel over the transposed weight, which on this CPU sums in the backward kernel's order
    /// (bit-identical, tested at ResNet-50's shapes); elsewhere it may differ by float rounding, as the layers in the
    /// class summary do.
    /// </summary>
    public static (Tensor Output, Tensor PassedInput) Conv2dRectifiedPassingInput(Tensor input, Tensor weight,
        Tensor? bias, long[] stride, long[] padding, long[] dilation, bool relu6)
    {
        if (WinogradTakes(weight, stride, padding, dilation, 1) || !Covers(stride, padding, dilation, weight))
            return (Conv2dRectified(input, weight, bias, stride, padding, dilation, 1, relu6), input.alias());
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_frozen_rectified_passing_input(input.Handle,
            weight.Handle, bias?.Handle ?? 0, stride[0], stride[1], padding[0], padding[1], relu6 ? 0 : 1, 0.0, 6.0,
            out var result, out var passed));
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return (Tensor.FromHandle(result), Tensor.FromHandle(passed));
    }

    /// <summary>
    /// conv2d plus <paramref name="accumulator"/>, then an in-place ReLU when <paramref name="relu"/>: the values and
    /// gradients of conv2d, <see cref="Tensor.add_(Tensor)"/> into its output and <see cref="Tensor.relu_"/>. Without
    /// autograd, on the cached path, the shim adds and rectifies inside the convolution's kernel and writes the result
    /// into <paramref name="accumulator"/> itself, which saves two passes over the output and its allocation; the
    /// caller gives the accumulator up (its old values may be gone). While autograd records, the kernel adds into a
    /// copy and the accumulator is left as it was (a rectifier's backward may have saved it), so any tensor may be
    /// passed then.
    /// </summary>
    public static Tensor Conv2dAccumulate(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding,
        long[] dilation, long groups, Tensor accumulator, bool relu)
    {
        if (WinogradTakes(weight, stride, padding, dilation, groups) || !Applies(stride, padding, dilation, groups, weight))
        {
            var y = torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups).add_(accumulator);
            return relu ? y.relu_() : y;
        }
        Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_frozen_accumulate(input.Handle, weight.Handle,
            bias?.Handle ?? 0, stride[0], stride[1], padding[0], padding[1], accumulator.Handle, relu ? 1 : 0, out var result));
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        GC.KeepAlive(accumulator);
        return Tensor.FromHandle(result);
    }
}
