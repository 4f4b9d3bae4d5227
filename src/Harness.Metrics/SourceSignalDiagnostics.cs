using Harness.Attribution;
using Harness.Torch;

namespace Harness.Metrics;

/// <summary>
/// The forward test of a source signal (<see cref="ISourceSignalMethod"/>, e.g. MIP-IN's), per image: push S_k forward
/// from layer k — the target logit should be close to the original (completeness) — and push the distractor
/// X_k − S_k forward — the target logit should collapse (minimality). Shared by <see cref="Completeness"/> and
/// <see cref="Minimality"/>, which read the same three logits.
/// </summary>
public static class SourceSignalDiagnostics
{
    /// <summary>The target logit of each image: original, from the source alone, from the distractor alone.</summary>
    public sealed record Result(float[] Original, float[] FromSource, float[] FromDistractor)
    {
        /// <summary>Mean |y_c(S) − y_c| / |y_c| over images.</summary>
        public double CompletenessError => Original.Zip(FromSource, (o, s) => Math.Abs(s - o) / Math.Max(Math.Abs(o), 1e-12)).Average();
    }

    public static Result Compute(ISourceSignalMethod method, AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (source, activation) = method.SourceSignals(batch);
        var index = batch.TargetIndex.unsqueeze(1);
        float[] Target(Tensor logits) => logits.gather(1, index).squeeze(1).cpu().ToArray<float>();
        return new Result(
            Target(batch.Logits),
            Target(method.Model.ForwardFrom(source, method.SignalStage)),
            Target(method.Model.ForwardFrom(activation - source, method.SignalStage)));
    }
}
