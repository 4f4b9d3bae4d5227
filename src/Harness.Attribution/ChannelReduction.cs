using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// How a per-channel attribution a (B×C×H×W) becomes one map (B×H×W). Option names (configs): "max_abs",
/// "sum_abs", "sum", "l2".
/// </summary>
public enum ChannelReduction
{
    /// <summary>max_c |a_c| — the usual saliency-map convention (Simonyan et al.), the gradient default.</summary>
    MaxAbs,

    /// <summary>Σ_c |a_c|.</summary>
    SumAbs,

    /// <summary>Σ_c a_c, signed — the gradient×input and Integrated Gradients default (keeps completeness).</summary>
    Sum,

    /// <summary>sqrt(Σ_c a_c²).</summary>
    L2Norm,
}

/// <summary>Parsing, naming and applying <see cref="ChannelReduction"/>.</summary>
public static class ChannelReductions
{
    private static readonly (string Name, ChannelReduction Value)[] Table =
    {
        ("max_abs", ChannelReduction.MaxAbs),
        ("sum_abs", ChannelReduction.SumAbs),
        ("sum", ChannelReduction.Sum),
        ("l2", ChannelReduction.L2Norm),
    };

    /// <summary>The option names, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = Table.Select(t => t.Name).ToArray();

    public static string Name(ChannelReduction reduction) =>
        Table.First(t => t.Value == reduction).Name;

    /// <summary>The reduction called <paramref name="name"/>; the error lists the valid names.</summary>
    public static ChannelReduction Parse(string name)
    {
        foreach (var (n, v) in Table)
            if (string.Equals(n, name, StringComparison.Ordinal)) return v;
        throw new ArgumentException($"unknown channel reduction '{name}'. Valid: {string.Join(", ", Names)}", nameof(name));
    }

    /// <summary>Reduces B×C×H×W to B×H×W (a new tensor in the caller's dispose scope).</summary>
    public static Tensor Reduce(Tensor attribution, ChannelReduction reduction)
    {
        if (attribution.ndim != 4)
            throw new ArgumentException($"expected a B×C×H×W attribution, got [{string.Join(", ", attribution.shape)}]", nameof(attribution));
        using var scope = torch.NewDisposeScope();
        var map = reduction switch
        {
            ChannelReduction.MaxAbs => attribution.abs().amax(new[] { 1L }),
            ChannelReduction.SumAbs => attribution.abs().sum(1),
            ChannelReduction.Sum => attribution.sum(1),
            ChannelReduction.L2Norm => attribution.norm(2, new[] { 1L }),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown channel reduction"),
        };
        return AttributionMaps.Float32(map).MoveToOuterDisposeScope();
    }
}
