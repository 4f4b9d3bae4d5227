using Harness.Attribution;

namespace Harness.Metrics;

/// <summary>
/// <c>class_sensitivity</c> (docs/metrics-spec.md §5; the MIP-IN paper): how much a method's map changes when the
/// explained class changes. Per image two distinct classes are drawn (<see cref="DrawClasses"/>), one map is made
/// for each, and the score is <see cref="Distance"/> between them:
/// <code>p = max(map, 0),   p̂ = p / max(‖p‖₂, 1e-12),   score = ‖p̂_a − p̂_b‖₂</code>
/// 0 for maps equal up to a positive scale, √2 for non-negative maps with disjoint support, 1 when exactly one of
/// them is zero (<see cref="IsZero"/>; counted as <c>zero_map</c> by the leaderboard). Higher = more
/// class-sensitive. All arithmetic is in doubles in index order, so the score is exactly reproducible.
/// A model-querying metric: each image is explained twice more, for its two drawn classes, by every method at once.
/// The run's seed draws the classes; a map with NaN skips the image as <see cref="MetricResult.NonFiniteMap"/>.
/// </summary>
public sealed class ClassSensitivity : IModelMetric
{
    public const string MetricName = "class_sensitivity";

    public string Name => MetricName;

    public MetricResult[]?[] Compute(ModelMetricBatch batch)
    {
        var pairs = batch.ImageIds.Select(id => DrawClasses(batch.Seed, id, batch.Model.NumClasses)).ToArray();
        // One explanation per drawn class, each of the whole batch. Not merged into one batch of the images twice: on the
        // CPU that gained nothing (a gradient pass of 8 images runs as fast as one of 32) and cost 200 MB, and MIP-IN's
        // completion iterates until every image of its batch has converged, so merging would change its values.
        var first = batch.Explain(pairs.Select(p => (long)p.Item1).ToArray());
        var second = batch.Explain(pairs.Select(p => (long)p.Item2).ToArray());
        var results = new MetricResult[]?[batch.Methods.Count];
        for (var m = 0; m < results.Length; m++)
        {
            results[m] = new MetricResult[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var distance = Distance(first[m][i], second[m][i]);
                var zeroMaps = (IsZero(first[m][i]) ? 1 : 0) + (IsZero(second[m][i]) ? 1 : 0);
                results[m]![i] = (double.IsFinite(distance) ? MetricResult.Score(distance) : MetricResult.Skip(MetricResult.NonFiniteMap))
                    with { ZeroMaps = zeroMaps };
            }
        }
        return results;
    }

    /// <summary>The leaderboard's count of maps that are zero after taking the positive part.</summary>
    public const string ZeroMap = "zero_map";

    /// <summary>The floor of the norm in the normalisation, so a zero map stays zero.</summary>
    public const double NormFloor = 1e-12;

    /// <summary>
    /// ‖p̂_a − p̂_b‖₂ for the positive parts of <paramref name="a"/> and <paramref name="b"/>, each divided by
    /// max(‖p‖₂, 1e-12). NaN when a map holds NaN. The maps must have the same length.
    /// </summary>
    public static double Distance(float[] a, float[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length)
            throw new ArgumentException($"maps of different sizes cannot be compared ({a.Length} and {b.Length} values)", nameof(b));
        var na = Math.Max(Norm(a), NormFloor);
        var nb = Math.Max(Norm(b), NormFloor);
        var sum = 0.0;
        for (var k = 0; k < a.Length; k++)
        {
            var d = Positive(a[k]) / na - Positive(b[k]) / nb;
            sum += d * d;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>True when the map has no value &gt; 0, so its positive part (and normalised map) is all zero.</summary>
    public static bool IsZero(float[] m)
    {
        ArgumentNullException.ThrowIfNull(m);
        foreach (var v in m)
            if (v > 0 || float.IsNaN(v)) return false;
        return true;
    }

    /// <summary>
    /// Two distinct classes in [0, <paramref name="numClasses"/>), uniform over ordered pairs, a function of
    /// (<paramref name="seed"/>, <paramref name="imageId"/>) only — the same on every machine, process and run
    /// order. Algorithm (to reproduce elsewhere):
    /// <list type="number">
    /// <item>state = <see cref="SplitMix64.Stream"/>(seed, imageId): h = the first 8 bytes of SHA-256(UTF-8 bytes of
    /// imageId), read as a little-endian uint64; state = h XOR splitmix64_next(seed), i.e. the first SplitMix64
    /// output of a generator seeded with seed.</item>
    /// <item>A SplitMix64 generator (<see cref="SplitMix64.Next"/>) from state: state += 0x9E3779B97F4A7C15; z = state;
    /// z = (z ^ z≫30)·0xBF58476D1CE4E5B9; z = (z ^ z≫27)·0x94D049BB133111EB; output z ^ z≫31 (all mod 2⁶⁴).</item>
    /// <item>Uniform r in [0, bound) without modulo bias (<see cref="SplitMix64.Uniform"/>): t = 2⁶⁴ mod bound; draw
    /// outputs until one is ≥ t; r = output mod bound.</item>
    /// <item>first = uniform in [0, numClasses); r = uniform in [0, numClasses − 1); second = r + 1 if r ≥ first,
    /// else r.</item>
    /// </list>
    /// </summary>
    public static (int, int) DrawClasses(ulong seed, string imageId, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        if (numClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "two distinct classes need at least 2 classes");
        var state = SplitMix64.Stream(seed, imageId);
        var first = SplitMix64.Uniform(ref state, (ulong)numClasses);
        var second = SplitMix64.Uniform(ref state, (ulong)numClasses - 1);
        if (second >= first) second++;
        return ((int)first, (int)second);
    }

    private static double Positive(float v) => v > 0 ? v : 0; // NaN > 0 is false; Norm is NaN then anyway

    private static double Norm(float[] m)
    {
        var s = 0.0;
        foreach (var v in m)
        {
            if (float.IsNaN(v)) return double.NaN;
            var p = Positive(v);
            s += p * p;
        }
        return Math.Sqrt(s);
    }
}
