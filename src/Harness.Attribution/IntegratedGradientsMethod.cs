using Harness.Torch;

namespace Harness.Attribution;

/// <summary>Quadrature rules for <see cref="IntegratedGradientsMethod"/>, named as captum's riemann_* methods.</summary>
public enum IntegrationRule
{
    /// <summary>m points α = 0, 1/(m−1), ..., 1 with trapezoid weights (half at both ends); m ≥ 2.</summary>
    Trapezoid,

    /// <summary>α = 0, 1/m, ..., (m−1)/m, weights 1/m.</summary>
    Left,

    /// <summary>α = 1/m, 2/m, ..., 1, weights 1/m (the original paper's sum).</summary>
    Right,

    /// <summary>α = (k + ½)/m, weights 1/m.</summary>
    Middle,
}

/// <summary>
/// Integrated Gradients ("integrated_gradients", Sundararajan et al. 2017):
/// IG(x) = (x − x′) ⊙ ∫₀¹ ∂y_t/∂x |_(x′ + α(x − x′)) dα ≈ (x − x′) ⊙ Σ_k w_k ∂y_t/∂x |_(x′ + α_k(x − x′)),
/// reduced over channels (default the signed sum, so the map's total approximates y_t(x) − y_t(x′):
/// completeness; option "reduction"). Defaults: "steps" m = 32 gradient evaluations, "rule" = trapezoid
/// (captum's riemann_trapezoid; also left, right, middle), baseline x′ = the constant image "baseline" = 0 in the
/// model's normalised input space (i.e. the normalisation mean colour, a grey image; pixel black is −mean/std,
/// e.g. −1 for the shipped MobileNetV2's mean = std = 0.5). "steps_per_pass" (default 1) path points of every image
/// go through the network at once (k·B images per pass).
/// </summary>
public sealed class IntegratedGradientsMethod : IAttributionMethod
{
    public IntegratedGradientsMethod(int steps = 32, IntegrationRule rule = IntegrationRule.Trapezoid, double baseline = 0,
        ChannelReduction reduction = ChannelReduction.Sum, int stepsPerPass = 1)
    {
        var min = rule == IntegrationRule.Trapezoid ? 2 : 1;
        if (steps < min) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"the {rule} rule needs at least {min} steps");
        if (!double.IsFinite(baseline)) throw new ArgumentOutOfRangeException(nameof(baseline), baseline, "baseline must be finite");
        if (stepsPerPass < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerPass), stepsPerPass, "must be at least 1");
        Steps = steps;
        Rule = rule;
        Baseline = baseline;
        Reduction = reduction;
        StepsPerPass = stepsPerPass;
    }

    public string Name => "integrated_gradients";

    public int Steps { get; }
    public IntegrationRule Rule { get; }
    public double Baseline { get; }
    public ChannelReduction Reduction { get; }
    public int StepsPerPass { get; }

    /// <summary>The path points α_k and weights w_k of <paramref name="rule"/> with <paramref name="steps"/> points.</summary>
    public static (double[] Alphas, double[] Weights) Quadrature(IntegrationRule rule, int steps)
    {
        var alphas = new double[steps];
        var weights = new double[steps];
        for (var k = 0; k < steps; k++)
        {
            (alphas[k], weights[k]) = rule switch
            {
                IntegrationRule.Trapezoid => ((double)k / (steps - 1), (k == 0 || k == steps - 1 ? 0.5 : 1.0) / (steps - 1)),
                IntegrationRule.Left => ((double)k / steps, 1.0 / steps),
                IntegrationRule.Right => ((double)(k + 1) / steps, 1.0 / steps),
                IntegrationRule.Middle => ((k + 0.5) / steps, 1.0 / steps),
                _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown integration rule"),
            };
        }
        return (alphas, weights);
    }

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var images = batch.Images.detach();
        var shape = images.shape;
        var baseline = torch.full(shape, Baseline, images.dtype, images.device);
        var delta = images - baseline;
        var (alphas, weights) = Quadrature(Rule, Steps);
        var total = torch.zeros_like(images);
        for (var done = 0; done < Steps; done += StepsPerPass)
        {
            using var step = torch.NewDisposeScope();
            var k = Math.Min(StepsPerPass, Steps - done);
            var points = new Tensor[k];
            for (var j = 0; j < k; j++) points[j] = baseline + delta * alphas[done + j];
            var path = k == 1 ? points[0] : torch.cat(points);
            var grad = GradientPass.InputGradientAt(batch.Model, path, AttributionMaps.RepeatBatch(batch.TargetIndex, k));
            var w = torch.tensor(weights.AsSpan(done, k).ToArray(), new long[] { k, 1, 1, 1, 1 }, images.device).to(images.dtype);
            total.add_((grad.view(new[] { (long)k }.Concat(shape).ToArray()) * w).sum(0));
        }
        return ChannelReductions.Reduce(delta * total, Reduction).MoveToOuterDisposeScope();
    }
}
