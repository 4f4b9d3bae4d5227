using Harness.Torch;

namespace Harness.Attribution.MipIn;

/// <summary>
/// More MIP-IN training samples from the same images (option <c>augment: N</c>): N copies of each preprocessed
/// training batch, each image randomly cropped (area 35–100% of the image, aspect ratio 3/4–4/3, like torchvision's
/// RandomResizedCrop with a larger minimum scale so the object stays in view), resized back bilinearly and flipped
/// horizontally with probability ½. Deterministic given the seed and the batch order.
/// </summary>
public static class TrainingAugmentation
{
    public const double MinScale = 0.35;

    /// <summary>The augmented copies of <paramref name="batch"/> (B×C×H×W), each a new tensor in the caller's scope.</summary>
    public static IReadOnlyList<Tensor> Copies(Tensor batch, int copies, Random random)
    {
        var result = new List<Tensor>();
        long h = batch.size(2), w = batch.size(3);
        for (var k = 0; k < copies; k++)
        {
            using var scope = torch.NewDisposeScope();
            var images = new List<Tensor>();
            for (var i = 0; i < batch.size(0); i++)
            {
                var (top, left, ch, cw) = CropBox(h, w, random);
                var crop = batch.narrow(0, i, 1).narrow(2, top, ch).narrow(3, left, cw);
                var resized = torch.nn.functional.interpolate(crop, new[] { h, w }, mode: torch.nn.InterpolationMode.Bilinear, align_corners: false);
                images.Add(random.NextDouble() < 0.5 ? resized.flip(3) : resized);
            }
            result.Add(torch.cat(images.ToArray()).contiguous().MoveToOuterDisposeScope());
        }
        return result;
    }

    // torchvision's RandomResizedCrop.get_params: up to 10 tries of a random area and log-uniform aspect ratio,
    // else the whole image.
    private static (long Top, long Left, long Height, long Width) CropBox(long h, long w, Random random)
    {
        var area = (double)h * w;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * (MinScale + (1 - MinScale) * random.NextDouble());
            var logRatio = Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * random.NextDouble();
            var ratio = Math.Exp(logRatio);
            var cw = (long)Math.Round(Math.Sqrt(target * ratio));
            var ch = (long)Math.Round(Math.Sqrt(target / ratio));
            if (cw > 0 && ch > 0 && cw <= w && ch <= h)
                return (random.NextInt64(h - ch + 1), random.NextInt64(w - cw + 1), ch, cw);
        }
        return (0, 0, h, w);
    }
}
