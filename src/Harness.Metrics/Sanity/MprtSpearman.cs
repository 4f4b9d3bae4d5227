namespace Harness.Metrics.Sanity;

/// <summary>
/// <c>mprt_spearman</c>: model-parameter randomisation (Adebayo et al. 2018; Quantus's MPRT). Spearman's rank correlation between a map of
/// the intact model and the map after each step of a top-down <see cref="ModelRandomisation"/> cascade, averaged over
/// the steps (Quantus's <c>return_average_correlation</c>). A method whose maps survive the destruction of the model
/// they explain is not explaining the model: lower is better. Option <c>layers</c>: how many stages to randomise from
/// the top (default 0 = all; each costs one explanation pass of every method).
/// </summary>
public sealed class MprtSpearman(int layers = 0) : IModelMetric
{
    public const string MetricName = "mprt_spearman";

    public string Name => MetricName;

    /// <summary>Stages randomised, from the top; 0 = all.</summary>
    public int Layers { get; } = layers;

    public MetricResult[]?[] Compute(ModelMetricBatch batch)
    {
        var cascade = RandomisationCascade.For(batch, Layers);
        return cascade.MeanOverSteps(cascade.Spearman);
    }
}
