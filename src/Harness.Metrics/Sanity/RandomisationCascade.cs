namespace Harness.Metrics.Sanity;

/// <summary>
/// The work <see cref="MprtSsim"/> and <see cref="MprtSpearman"/> share: every method's maps of a batch for the true
/// classes, recomputed after each step of a <see cref="ModelRandomisation"/> cascade and compared with the maps of
/// the intact model. Computed once per batch (<see cref="ModelMetricBatch.Shared{T}"/>) whichever metric asks first;
/// the model is restored before it returns.
/// </summary>
public sealed class RandomisationCascade
{
    private RandomisationCascade(string[] stages, double[][][] ssim, double[][][] spearman, bool[][] finite)
    {
        Stages = stages;
        Ssim = ssim;
        Spearman = spearman;
        Finite = finite;
    }

    /// <summary>The stages randomised, in cascade order.</summary>
    public IReadOnlyList<string> Stages { get; }

    /// <summary>[method][image][step] SSIM between the intact and the randomised map.</summary>
    public double[][][] Ssim { get; }

    /// <summary>[method][image][step] Spearman rank correlation between the intact and the randomised map.</summary>
    public double[][][] Spearman { get; }

    /// <summary>[method][image]: false when a map (intact or randomised) held NaN or ±∞; that image is skipped.</summary>
    public bool[][] Finite { get; }

    /// <summary>
    /// The cascade of <paramref name="batch"/>'s model over its first <paramref name="layers"/> stages (0 = all),
    /// seeded with the experiment's seed, shared by every metric of the batch that asks with the same layers.
    /// </summary>
    public static RandomisationCascade For(ModelMetricBatch batch, int layers)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Shared($"randomisation_cascade:{layers}", () => Run(batch, layers));
    }

    private static RandomisationCascade Run(ModelMetricBatch batch, int layers)
    {
        int methods = batch.Methods.Count, images = batch.Count;
        int height = (int)batch.Truth.Height, width = (int)batch.Truth.Width;
        var intact = batch.TruthMaps.Select(m => m.Select(MapSimilarity.Normalise).ToArray()).ToArray();
        var finite = batch.TruthMaps.Select(m => m.Select(map => map.All(float.IsFinite)).ToArray()).ToArray();
        using var randomisation = new ModelRandomisation(batch.Model, batch.Seed);
        var steps = layers == 0 ? randomisation.Cascade.Count : Math.Min(layers, randomisation.Cascade.Count);
        var ssim = New(methods, images, steps);
        var spearman = New(methods, images, steps);
        var stages = new string[steps];
        for (var s = 0; s < steps; s++)
        {
            stages[s] = randomisation.RandomiseNext().Name;
            var maps = batch.Explain(batch.Truth.Targets);
            for (var m = 0; m < methods; m++)
                for (var i = 0; i < images; i++)
                {
                    if (!maps[m][i].All(float.IsFinite)) finite[m][i] = false;
                    if (!finite[m][i]) continue;
                    var randomised = MapSimilarity.Normalise(maps[m][i]);
                    ssim[m][i][s] = MapSimilarity.Ssim(intact[m][i], randomised, height, width);
                    spearman[m][i][s] = MapSimilarity.Spearman(intact[m][i], randomised);
                }
        }
        return new RandomisationCascade(stages, ssim, spearman, finite);
    }

    /// <summary>Each method's per-image mean over the steps of <paramref name="similarity"/>, as metric results.</summary>
    internal MetricResult[]?[] MeanOverSteps(double[][][] similarity) =>
        similarity.Select((perImage, m) => perImage.Select((steps, i) => Finite[m][i] && steps.Length > 0
            ? MetricResult.Score(steps.Average()) : MetricResult.Skip(MetricResult.NonFiniteMap)).ToArray()).ToArray<MetricResult[]?>();

    private static double[][][] New(int methods, int images, int steps) =>
        Enumerable.Range(0, methods).Select(_ => Enumerable.Range(0, images).Select(_ => new double[steps]).ToArray()).ToArray();
}
