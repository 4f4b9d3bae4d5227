namespace Harness.Torch.Modules;

/// <summary>2-D convolution with square kernel, stride, padding and dilation (torch.nn.Conv2d).</summary>
public sealed class Conv2d : Module
{
    public Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0,
        long dilation = 1, long groups = 1, bool bias = true)
    {
        if (in_channels % groups != 0 || out_channels % groups != 0)
            throw new ArgumentException($"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})");
        InChannels = in_channels;
        OutChannels = out_channels;
        KernelSize = kernel_size;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        var fanIn = in_channels / groups * kernel_size * kernel_size;
        RegisterParameter("weight", Init.Uniform(new[] { out_channels, in_channels / groups, kernel_size, kernel_size }, fanIn));
        if (bias) RegisterParameter("bias", Init.Uniform(new[] { out_channels }, fanIn));
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public long KernelSize { get; }
    public long Stride { get; }
    public long Padding { get; }
    public long Dilation { get; }
    public long Groups { get; }
    public Tensor weight => GetParameter("weight")!;
    public Tensor? bias => GetParameter("bias");

    public override Tensor forward(Tensor input) =>
        torch.nn.functional.conv2d(input, weight, bias, Stride, Padding, Dilation, Groups);
}
