using Harness.Torch;

namespace Harness.Metrics.Sanity;

/// <summary>What a deleted pixel becomes (deletion) or what an image starts from (insertion).</summary>
public enum PerturbationBaseline
{
    /// <summary>The image blurred by an 11×11 Gaussian of σ = 5 px (RISE's insertion start), zero-padded.</summary>
    Blur,

    /// <summary>Each channel's mean over the image: deleted pixels turn flat grey-ish, no edges are added.</summary>
    Mean,
}

/// <summary>Builds <see cref="PerturbationBaseline"/> images from a batch of model inputs.</summary>
public static class PerturbationBaselines
{
    /// <summary>Names as written in a spec's metric_options.</summary>
    public static readonly IReadOnlyList<(string Name, PerturbationBaseline Value)> Choices =
        [("blur", PerturbationBaseline.Blur), ("mean", PerturbationBaseline.Mean)];

    /// <summary>The Gaussian's size and σ (RISE: klen = 11, nsig = 5).</summary>
    public const int BlurSize = 11;
    public const double BlurSigma = 5;

    /// <summary>
    /// The baseline of every image of <paramref name="images"/> (N×C×H×W, normalised model inputs), same shape.
    /// Blur: depthwise convolution with k[i,j] = g[i]·g[j], g[i] ∝ exp(−(i−5)²/(2σ²)) summing to 1, zero padding 5.
    /// RISE builds its kernel with scipy's gaussian_filter on a delta, whose reflection folds the tails back; the
    /// plain sampled Gaussian is what its paper describes and is simple to reproduce. Mean: per image and channel,
    /// the mean over H×W (accumulated in float64).
    /// </summary>
    public static Tensor Create(Tensor images, PerturbationBaseline baseline)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor result = baseline switch
        {
            PerturbationBaseline.Mean => images.to(ScalarType.Float64).mean([2L, 3L], keepdim: true).to(images.dtype).expand(images.shape).contiguous(),
            PerturbationBaseline.Blur => Blur(images),
            _ => throw new ArgumentOutOfRangeException(nameof(baseline), baseline, "unknown baseline"),
        };
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Blur(Tensor images)
    {
        var g = new double[BlurSize];
        for (var i = 0; i < BlurSize; i++) g[i] = Math.Exp(-Math.Pow(i - BlurSize / 2, 2) / (2 * BlurSigma * BlurSigma));
        var total = g.Sum();
        var kernel = new float[BlurSize * BlurSize];
        for (var i = 0; i < BlurSize; i++)
            for (var j = 0; j < BlurSize; j++)
                kernel[i * BlurSize + j] = (float)(g[i] / total * (g[j] / total));
        var channels = images.size(1);
        var weight = torch.tensor(kernel, [1, 1, BlurSize, BlurSize], images.device).expand(channels, 1, BlurSize, BlurSize).contiguous();
        return torch.nn.functional.conv2d(images.contiguous(), weight, null, [1, 1], [BlurSize / 2, BlurSize / 2], [1, 1], channels);
    }
}
