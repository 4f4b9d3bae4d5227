using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// SmoothGrad ("smoothgrad", Smilkov et al. 2017): the input gradient averaged over n noisy copies,
/// map = R_c((1/n) Σ_{i=1..n} ∂y_t/∂x |_(x + ε_i)), ε_i ~ N(0, σ²) per pixel and channel,
/// σ = noise_level · (max(x) − min(x)) of each image (over all channels), R the channel reduction.
/// Defaults: n = "samples" = 16 (the paper suggests 50; 16 keeps the cost at 16 forward+backward passes and the
/// maps are already visually stable), "noise_level" = 0.15 (the paper's 10–20 %), "reduction" = max_abs (as the
/// gradient), "seed" = 0. "samples_per_pass" (default 1) noisy copies of every image go through the network at
/// once (k·B images per pass): more is faster on a GPU and costs k times the memory; it does not change the maps
/// beyond float rounding. The noise is drawn per image from a stream seeded by (seed, the image's values), see
/// <see cref="SeededStream"/>: the same image gets the same noise in any batch and for every target class, and
/// libtorch's global generator is not touched.
/// </summary>
public sealed class SmoothGradMethod : IAttributionMethod
{
    public SmoothGradMethod(int samples = 16, double noiseLevel = 0.15, ulong seed = 0,
        ChannelReduction reduction = ChannelReduction.MaxAbs, int samplesPerPass = 1)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "smoothgrad needs at least one sample");
        if (!(noiseLevel >= 0) || double.IsInfinity(noiseLevel))
            throw new ArgumentOutOfRangeException(nameof(noiseLevel), noiseLevel, "noise level must be finite and ≥ 0");
        if (samplesPerPass < 1) throw new ArgumentOutOfRangeException(nameof(samplesPerPass), samplesPerPass, "must be at least 1");
        Samples = samples;
        NoiseLevel = noiseLevel;
        Seed = seed;
        Reduction = reduction;
        SamplesPerPass = samplesPerPass;
    }

    public string Name => "smoothgrad";

    public int Samples { get; }
    public double NoiseLevel { get; }
    public ulong Seed { get; }
    public ChannelReduction Reduction { get; }
    public int SamplesPerPass { get; }

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var images = batch.Images.detach();
        var b = images.size(0);
        var perImage = (int)(images.numel() / Math.Max(b, 1));
        var streams = Array.ConvertAll(SeededStream.PerImageSeeds(Seed, images, null), s => new SeededStream(s));
        Tensor sigma;
        using (torch.no_grad())
        {
            var flat = images.flatten(1);
            sigma = ((flat.amax(new[] { 1L }) - flat.amin(new[] { 1L })) * NoiseLevel).view(b, 1, 1, 1);
        }
        var total = torch.zeros_like(images);
        for (var done = 0; done < Samples; done += SamplesPerPass)
        {
            using var step = torch.NewDisposeScope();
            var k = Math.Min(SamplesPerPass, Samples - done);
            var noisy = AttributionMaps.RepeatBatch(images, k);
            if (NoiseLevel > 0)
            {
                // Copy-major layout (copy j of image i at row j·B + i). Each image's stream is read in sample order,
                // so the noise does not depend on samples_per_pass; images draw in parallel (independent streams).
                var buffer = new float[k * b * perImage];
                Parallel.For(0, (int)b, i =>
                {
                    for (var j = 0; j < k; j++) streams[i].FillNormal(buffer.AsSpan((int)((j * b + i) * perImage), perImage));
                });
                var noise = torch.tensor(buffer, noisy.shape, images.device);
                noisy = noisy + noise * AttributionMaps.RepeatBatch(sigma, k);
            }
            var targets = AttributionMaps.RepeatBatch(batch.TargetIndex, k);
            var grad = GradientPass.InputGradientAt(batch.Model, noisy, targets);
            var shape = images.shape;
            total.add_(grad.view(new[] { (long)k }.Concat(shape).ToArray()).sum(0));
        }
        var mean = total / Samples;
        return ChannelReductions.Reduce(mean, Reduction).MoveToOuterDisposeScope();
    }
}
