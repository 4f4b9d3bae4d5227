namespace Harness.Torch.Modules;

/// <summary>2-D max pooling with a square window (torch.nn.MaxPool2d); stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module
{
    public MaxPool2d(long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false)
    {
        KernelSize = kernel_size;
        Stride = stride ?? kernel_size;
        Padding = padding;
        Dilation = dilation;
        CeilMode = ceil_mode;
    }

    public long KernelSize { get; }
    public long Stride { get; }
    public long Padding { get; }
    public long Dilation { get; }
    public bool CeilMode { get; }

    public override Tensor forward(Tensor input) =>
        torch.nn.functional.max_pool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <summary>The pooled output and the switches (flat H×W index of each maximum), for unpooling.</summary>
    public (Tensor output, Tensor indices) ForwardWithIndices(Tensor input) =>
        torch.nn.functional.max_pool2d_with_indices(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}

/// <summary>2-D average pooling with a square window (torch.nn.AvgPool2d).</summary>
public sealed class AvgPool2d : Module
{
    public AvgPool2d(long kernel_size, long? stride = null, long padding = 0)
    {
        KernelSize = kernel_size;
        Stride = stride ?? kernel_size;
        Padding = padding;
    }

    public long KernelSize { get; }
    public long Stride { get; }
    public long Padding { get; }

    public override Tensor forward(Tensor input) => torch.nn.functional.avg_pool2d(input, KernelSize, Stride, Padding);
}

/// <summary>Average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d).</summary>
public sealed class AdaptiveAvgPool2d : Module
{
    public AdaptiveAvgPool2d(long height, long width)
    {
        OutputSize = new[] { height, width };
    }

    public long[] OutputSize { get; }

    public override Tensor forward(Tensor input) => torch.nn.functional.adaptive_avg_pool2d(input, OutputSize);
}
