namespace Harness.Torch.Modules;

/// <summary>Weight initialisation matching PyTorch's defaults for Linear and Conv2d.</summary>
public static class Init
{
    [ThreadStatic] private static Generator? s_generator;

    /// <summary>
    /// Makes modules constructed on this thread draw their initial weights from <paramref name="generator"/> until the
    /// returned object is disposed (instead of the global generator), so concurrent model construction is reproducible.
    /// </summary>
    public static IDisposable Using(Generator generator)
    {
        var previous = s_generator;
        s_generator = generator;
        return new Restore(previous);
    }

    private sealed class Restore(Generator? previous) : IDisposable
    {
        public void Dispose() => s_generator = previous;
    }

    /// <summary>
    /// PyTorch's reset_parameters: kaiming_uniform_(a=√5) for the weight, which is U(−1/√fan_in, 1/√fan_in), and the
    /// same bound for the bias. Draws from the global generator, so torch.manual_seed makes it repeatable.
    /// </summary>
    internal static Tensor Uniform(long[] shape, long fanIn)
    {
        var bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        using var scope = torch.NewDisposeScope();
        return (torch.rand(shape, generator: s_generator) * (2 * bound) - bound).MoveToOuterDisposeScope();
    }
}
