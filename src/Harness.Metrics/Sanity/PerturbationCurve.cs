using Harness.Models;
using Harness.Torch;

namespace Harness.Metrics.Sanity;

/// <summary>
/// Deletion and insertion curves (Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of
/// Black-box Models", BMVC 2018): pixels are switched in the order of the map, most salient first, and the model's
/// probability of the target class is read after every <c>step</c> pixels.
/// <list type="bullet">
/// <item>Order: pixel indices (row-major) sorted by saliency, descending; ties by the smaller index (a stable sort).</item>
/// <item>K = ⌈H·W / step⌉; for k = 0..K, c_k = min(k·step, H·W) pixels (all channels) are switched.</item>
/// <item>Deletion: the image with its first c_k pixels taken from the baseline. Insertion: the baseline with its
/// first c_k pixels taken from the image.</item>
/// <item>p_k = softmax(model(image_k))[target]; AUC = (Σ p_k − (p_0 + p_K)/2) / K, the trapezoid rule on [0, 1].</item>
/// </list>
/// A faithful map gives a low deletion AUC (the class disappears quickly) and a high insertion AUC. Each image's
/// K + 1 perturbed copies go through the model in batches, so the cost is (K + 1) forward passes per image and map.
/// </summary>
public static class PerturbationCurve
{
    /// <summary>How many perturbed images one forward pass takes.</summary>
    public const int ForwardBatch = 32;

    /// <summary>
    /// The curve p_0..p_K of every image for its map: [image][k]. <paramref name="images"/> are N×C×H×W model inputs,
    /// <paramref name="baselines"/> the same shape (see <see cref="PerturbationBaselines.Create"/>),
    /// <paramref name="maps"/> N maps of H·W values (input frame, row-major).
    /// </summary>
    public static double[][] Compute(ClassifierModel model, Tensor images, Tensor baselines, long[] targets,
        IReadOnlyList<float[]> maps, int step, bool insertion)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        long n = images.size(0), height = images.size(2), width = images.size(3), pixels = height * width;
        if (maps.Count != n || targets.Length != n)
            throw new ArgumentException($"{n} images need {n} maps and targets, got {maps.Count} and {targets.Length}");
        int steps = (int)((pixels + step - 1) / step);
        using var noGrad = torch.no_grad();
        using var thresholds = torch.tensor(Enumerable.Range(0, steps + 1).Select(k => (float)Math.Min((long)k * step, pixels)).ToArray(),
            [steps + 1, 1, 1, 1], images.device);
        var curves = new double[n][];
        for (var i = 0; i < n; i++)
        {
            if (maps[i].Length != pixels)
                throw new ArgumentException($"map {i} has {maps[i].Length} values, the images have {height}×{width} pixels", nameof(maps));
            using var scope = torch.NewDisposeScope();
            var rank = torch.tensor(Ranks(maps[i]), [1, 1, height, width], images.device);
            var switched = rank < thresholds; // (K+1)×1×H×W: pixel already switched at step k
            Tensor image = images.narrow(0, i, 1), baseline = baselines.narrow(0, i, 1);
            var perturbed = insertion ? torch.where(switched, image, baseline) : torch.where(switched, baseline, image);
            curves[i] = Probabilities(model, perturbed, targets[i]);
        }
        return curves;
    }

    /// <summary>The area under a curve sampled at K + 1 evenly spaced points of [0, 1] (trapezoid rule).</summary>
    public static double Auc(IReadOnlyList<double> curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        if (curve.Count < 2) throw new ArgumentException("a curve needs at least two points", nameof(curve));
        var sum = 0.0;
        foreach (var p in curve) sum += p;
        return (sum - (curve[0] + curve[^1]) / 2) / (curve.Count - 1);
    }

    /// <summary>rank[p] = position of pixel p when pixels are sorted by saliency, descending, ties by index.</summary>
    internal static float[] Ranks(float[] map)
    {
        var order = new int[map.Length];
        for (var p = 0; p < order.Length; p++) order[p] = p;
        // NaN cannot be ordered; callers skip maps holding one before they get here.
        Array.Sort(order, (a, b) => map[a] != map[b] ? map[b].CompareTo(map[a]) : a.CompareTo(b));
        var rank = new float[map.Length]; // ranks up to 2²⁴ are exact in float32, far above any image size here
        for (var r = 0; r < order.Length; r++) rank[order[r]] = r;
        return rank;
    }

    private static double[] Probabilities(ClassifierModel model, Tensor perturbed, long target)
    {
        var count = perturbed.size(0);
        var result = new double[count];
        for (long start = 0; start < count; start += ForwardBatch)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = perturbed.narrow(0, start, Math.Min(ForwardBatch, count - start));
            var p = torch.nn.functional.softmax(model.forward(chunk), 1).select(1, target).to(ScalarType.Float64).cpu().ToArray<double>();
            p.CopyTo(result, (int)start);
        }
        return result;
    }
}
