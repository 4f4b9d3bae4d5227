namespace Harness.Metrics.Sanity;

/// <summary>
/// <c>insertion_auc</c> (RISE, Petsiuk et al. 2018): the true class's probability as the most salient pixels are
/// put back into the baseline (default <c>blur</c>), averaged over the insertion curve. Higher is better.
/// </summary>
public sealed class InsertionAuc(PerturbationBaseline baseline = PerturbationBaseline.Blur, int step = PerturbationAuc.DefaultStep)
    : PerturbationAuc(baseline, step)
{
    public const string MetricName = "insertion_auc";

    public override string Name => MetricName;

    protected override bool Insertion => true;
}
