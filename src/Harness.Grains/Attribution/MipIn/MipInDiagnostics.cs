using Harness.Torch;

namespace Harness.Grains.Attribution.MipIn;

/// <summary>
/// Completeness and minimality of MIP-IN's source signal (per image): push S_k forward from layer k — the target
/// logit should be close to the original (completeness) — and push the distractor X_k − S_k forward — the target
/// logit should collapse (minimality).
/// </summary>
public static class MipInDiagnostics
{
    public sealed record Result(float[] Original, float[] FromSource, float[] FromDistractor)
    {
        /// <summary>Mean |y_c(S) − y_c| / |y_c| over images.</summary>
        public double CompletenessError => Original.Zip(FromSource, (o, s) => Math.Abs(s - o) / Math.Max(Math.Abs(o), 1e-12)).Average();
    }

    public static Result Compute(MipInMethod method, AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (source, activation) = method.SourceSignals(batch);
        var model = method.Network.Model;
        var layer = method.Network.Model.Stages[method.Network.LayerIndex].Name;
        var index = batch.TargetIndex.unsqueeze(1);
        float[] Target(Tensor logits) => logits.gather(1, index).squeeze(1).cpu().ToArray<float>();
        return new Result(
            Target(batch.Logits),
            Target(model.ForwardFrom(source, layer)),
            Target(model.ForwardFrom(activation - source, layer)));
    }
}
