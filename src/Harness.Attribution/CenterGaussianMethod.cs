using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// The centre baseline ("center"): the same map for every image and class,
/// map[y,x] = exp(−((x − c_x)² + (y − c_y)²) / (2σ²)), c = ((W − 1)/2, (H − 1)/2) the image centre in pixel-centre
/// coordinates (so the map is exactly mirror-symmetric), σ = "sigma_fraction" · min(H, W) (default 0.25).
/// Why it matters (DESIGN §4 "Baselines matter"): ImageNet objects are large and central, so a map that ignores
/// the image and the class beats gradient and Grad-CAM on bounding-box accuracy and the pointing game on the
/// shipped sample; a method is only informative where it beats this row, and its class sensitivity is 0.
/// </summary>
public sealed class CenterGaussianMethod : IAttributionMethod
{
    public CenterGaussianMethod(double sigmaFraction = 0.25)
    {
        if (!(sigmaFraction > 0) || double.IsInfinity(sigmaFraction))
            throw new ArgumentOutOfRangeException(nameof(sigmaFraction), sigmaFraction, "sigma_fraction must be finite and > 0");
        SigmaFraction = sigmaFraction;
    }

    public string Name => "center";

    public double SigmaFraction { get; }

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        long h = batch.Height, w = batch.Width;
        var device = batch.Images.device;
        var sigma = SigmaFraction * Math.Min(h, w);
        var dy = torch.arange(h, ScalarType.Float32, device) - (h - 1) / 2.0;
        var dx = torch.arange(w, ScalarType.Float32, device) - (w - 1) / 2.0;
        var d2 = dy.pow(2).unsqueeze(1) + dx.pow(2).unsqueeze(0);            // H×W
        var map = (d2 * (-1.0 / (2 * sigma * sigma))).exp();
        return map.unsqueeze(0).expand(batch.Size, h, w).contiguous().MoveToOuterDisposeScope();
    }
}
