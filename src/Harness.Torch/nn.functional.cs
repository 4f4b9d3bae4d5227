namespace Harness.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>How a loss reduces over the batch (numbered like at::Reduction).</summary>
        public enum Reduction
        {
            None = 0,
            Mean = 1,
            Sum = 2,
        }

        /// <summary>Resampling modes for <see cref="functional.interpolate"/>.</summary>
        public enum InterpolationMode
        {
            Nearest,
            Bilinear,
        }

        /// <summary>
        /// Stateless neural-network functions with the signatures and defaults of <c>torch.nn.functional</c>.
        /// Sizes given as one number apply to both spatial dimensions (kernel_size: 3 means 3×3).
        /// </summary>
        public static class functional
        {
            private static readonly Op s_linear = new("aten::linear");
            private static readonly Op s_conv2d = new("aten::conv2d");
            private static readonly Op s_convTranspose2d = new("aten::conv_transpose2d", "input");
            private static readonly Op s_maxPool2d = new("aten::max_pool2d");
            private static readonly Op s_maxPool2dWithIndices = new("aten::max_pool2d_with_indices");
            private static readonly Op s_maxUnpool2d = new("aten::max_unpool2d");
            private static readonly Op s_avgPool2d = new("aten::avg_pool2d");
            private static readonly Op s_adaptiveAvgPool2d = new("aten::adaptive_avg_pool2d");
            private static readonly Op s_adaptiveMaxPool2d = new("aten::adaptive_max_pool2d");
            private static readonly Op s_batchNorm = new("aten::batch_norm");
            private static readonly Op s_dropout = new("aten::dropout");
            private static readonly Op s_relu = new("aten::relu");
            private static readonly Op s_hardtanh = new("aten::hardtanh");
            private static readonly Op s_softmax = new("aten::softmax", "int");
            private static readonly Op s_logSoftmax = new("aten::log_softmax", "int");
            private static readonly Op s_crossEntropy = new("aten::cross_entropy_loss");
            private static readonly Op s_mseLoss = new("aten::mse_loss");
            private static readonly Op s_upsampleBilinear = new("aten::upsample_bilinear2d", "vec");
            private static readonly Op s_upsampleBilinearAa = new("aten::_upsample_bilinear2d_aa", "vec");
            private static readonly Op s_upsampleNearest = new("aten::upsample_nearest2d", "vec");
            private static readonly Op s_constantPad = new("aten::constant_pad_nd");
            private static readonly Op s_oneHot = new("aten::one_hot");

            private static long[] Pair(long v) => new[] { v, v };

            /// <summary>y = x Wᵀ + b.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) => s_linear.Call(input, weight, bias);

            /// <summary>2-D convolution over an N×C×H×W input with a C_out×(C/groups)×kH×kW weight.</summary>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0,
                long dilation = 1, long groups = 1) =>
                conv2d(input, weight, bias, Pair(stride), Pair(padding), Pair(dilation), groups);

            /// <remarks>Under <see cref="ConvolutionKind.Winograd"/>, 3×3 stride-1 convolutions (other than over an
            /// image's few channels) take oneDNN's Winograd path (<see cref="ConvolutionAlgorithm"/>). Otherwise a frozen
            /// convolution takes <see cref="FrozenConvolution"/>'s path (cached weights, faster input gradients). The shim
            /// falls back to aten::conv2d for anything either path does not cover.</remarks>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding,
                long[] dilation, long groups = 1)
            {
                if (!FrozenConvolution.WinogradTakes(weight, stride, padding, dilation, groups))
                {
                    return FrozenConvolution.Applies(stride, padding, dilation, groups, weight)
                        ? FrozenConvolution.Conv2d(input, weight, bias, stride, padding)
                        : s_conv2d.Call(input, weight, bias, stride, padding, dilation, groups);
                }
                Native.NativeMethods.Check(Native.NativeMethods.mt_conv2d_winograd(
                    input.Handle, weight.Handle, bias?.Handle ?? 0, padding[0], padding[1], out var result));
                GC.KeepAlive(input);
                GC.KeepAlive(weight);
                GC.KeepAlive(bias);
                return Tensor.FromHandle(result);
            }

            /// <summary>Transposed 2-D convolution (the adjoint of <see cref="conv2d"/>); weight is C_in×(C_out/groups)×kH×kW.</summary>
            public static Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1,
                long padding = 0, long output_padding = 0, long groups = 1, long dilation = 1) =>
                conv_transpose2d(input, weight, bias, Pair(stride), Pair(padding), Pair(output_padding), groups, Pair(dilation));

            public static Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding,
                long[] output_padding, long groups, long[] dilation) =>
                s_convTranspose2d.Call(input, weight, bias, stride, padding, output_padding, groups, dilation);

            /// <summary>2-D max pooling; stride defaults to the kernel size.</summary>
            public static Tensor max_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0,
                long dilation = 1, bool ceil_mode = false) =>
                s_maxPool2d.Call(input, Pair(kernel_size), Pair(stride ?? kernel_size), Pair(padding), Pair(dilation), ceil_mode);

            /// <summary>2-D max pooling that also returns the flat H×W index of each maximum (the "switches").</summary>
            public static (Tensor output, Tensor indices) max_pool2d_with_indices(Tensor input, long kernel_size,
                long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false) =>
                s_maxPool2dWithIndices.Call2(input, Pair(kernel_size), Pair(stride ?? kernel_size), Pair(padding), Pair(dilation), ceil_mode);

            /// <summary>Places each value at its recorded maximum position in a zero map of <paramref name="output_size"/> (H, W).</summary>
            public static Tensor max_unpool2d(Tensor input, Tensor indices, long[] output_size) =>
                s_maxUnpool2d.Call(input, indices, output_size);

            /// <summary>2-D average pooling; stride defaults to the kernel size.</summary>
            public static Tensor avg_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0,
                bool ceil_mode = false, bool count_include_pad = true) =>
                s_avgPool2d.Call(input, Pair(kernel_size), Pair(stride ?? kernel_size), Pair(padding), ceil_mode, count_include_pad);

            public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size) => s_adaptiveAvgPool2d.Call(input, output_size);

            public static (Tensor output, Tensor indices) adaptive_max_pool2d_with_indices(Tensor input, long[] output_size) =>
                s_adaptiveMaxPool2d.Call2(input, output_size);

            /// <summary>Batch normalisation; with training=false it uses the running statistics (eval mode).</summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
                s_batchNorm.Call(input, weight, bias, running_mean, running_var, training, momentum, eps, true);

            /// <summary>Zeroes elements with probability p and scales the rest by 1/(1−p) when training; identity otherwise.</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true) => s_dropout.Call(input, p, training);

            public static Tensor relu(Tensor input) => s_relu.Call(input);

            /// <summary>min(max(x, 0), 6), as used by MobileNetV2.</summary>
            public static Tensor relu6(Tensor input) => s_hardtanh.Call(input, 0.0, 6.0);

            public static Tensor hardtanh(Tensor input, double min_val = -1, double max_val = 1) => s_hardtanh.Call(input, min_val, max_val);

            public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => s_softmax.Call(input, dim, Arg.Dtype(dtype));

            public static Tensor log_softmax(Tensor input, long dim, ScalarType? dtype = null) => s_logSoftmax.Call(input, dim, Arg.Dtype(dtype));

            /// <summary>Cross entropy between logits (N×C) and class indices (N, int64).</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null,
                Reduction reduction = Reduction.Mean, long ignore_index = -100, double label_smoothing = 0) =>
                s_crossEntropy.Call(input, target, weight, (long)reduction, ignore_index, label_smoothing);

            /// <summary>Mean squared error (or its sum / element-wise values per <paramref name="reduction"/>).</summary>
            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                s_mseLoss.Call(input, target, (long)reduction);

            /// <summary>
            /// Resizes an N×C×H×W tensor to <paramref name="size"/> (H, W) or by <paramref name="scale_factor"/>, as
            /// torch.nn.functional.interpolate. <paramref name="antialias"/> (bilinear only) matches PIL-style
            /// downsampling, as torchvision's Resize does on tensors.
            /// </summary>
            public static Tensor interpolate(Tensor input, long[]? size = null, double[]? scale_factor = null,
                InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null, bool antialias = false)
            {
                if ((size is null) == (scale_factor is null))
                    throw new ArgumentException("interpolate needs exactly one of size and scale_factor");
                if (size is { Length: not 2 } || scale_factor is { Length: not 2 })
                    throw new ArgumentException("interpolate works on N×C×H×W tensors: give two sizes or two scale factors");
                switch (mode)
                {
                    case InterpolationMode.Nearest:
                        if (align_corners is not null) throw new ArgumentException("align_corners only applies to bilinear interpolation");
                        if (antialias) throw new ArgumentException("antialias only applies to bilinear interpolation");
                        return s_upsampleNearest.Call(input, size, scale_factor);
                    case InterpolationMode.Bilinear:
                        var op = antialias ? s_upsampleBilinearAa : s_upsampleBilinear;
                        return op.Call(input, size, align_corners ?? false, scale_factor);
                    default:
                        throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown interpolation mode");
                }
            }

            /// <summary>Int64 class indices (any shape) → one-hot int64 tensor with a trailing dimension of num_classes.</summary>
            public static Tensor one_hot(Tensor indices, long num_classes = -1) => s_oneHot.Call(indices, num_classes);

            /// <summary>Pads the last dimensions: pad = (left, right, top, bottom, ...) as torch.nn.functional.pad.</summary>
            public static Tensor pad(Tensor input, long[] pad, double value = 0) => s_constantPad.Call(input, pad, value);
        }
    }
}
