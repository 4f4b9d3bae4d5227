namespace Harness.Torch.Modules;

/// <summary>Weight initialisation matching PyTorch's defaults for Linear and Conv2d.</summary>
internal static class Init
{
    /// <summary>
    /// PyTorch's reset_parameters: kaiming_uniform_(a=√5) for the weight, which is U(−1/√fan_in, 1/√fan_in), and the
    /// same bound for the bias. Draws from the global generator, so torch.manual_seed makes it repeatable.
    /// </summary>
    public static Tensor Uniform(long[] shape, long fanIn)
    {
        var bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        using var scope = torch.NewDisposeScope();
        return (torch.rand(shape) * (2 * bound) - bound).MoveToOuterDisposeScope();
    }
}
