namespace Harness.Metrics.Sanity;

/// <summary>
/// <c>deletion_auc</c> (RISE, Petsiuk et al. 2018): the true class's probability as the most salient pixels are
/// replaced by the baseline (default <c>mean</c>), averaged over the deletion curve. Lower is better.
/// </summary>
public sealed class DeletionAuc(PerturbationBaseline baseline = PerturbationBaseline.Mean, int step = PerturbationAuc.DefaultStep)
    : PerturbationAuc(baseline, step)
{
    public const string MetricName = "deletion_auc";

    public override string Name => MetricName;

    protected override bool Insertion => false;
}
