using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Reports;

/// <summary>
/// The images × methods picture that `mipin explain` and the HTML report show: each row is one model input followed
/// by every method's map over it (inferno, each map scaled to its own maximum).
/// </summary>
public static class MapGrid
{
    /// <param name="images">Preprocessed inputs, N×3×H×W (any device).</param>
    /// <param name="maps">Per method, N×H×W maps (any device), in <paramref name="methodNames"/> order.</param>
    public static RgbImage Compose(Tensor images, PreprocessConfig preprocess, IReadOnlyList<string> rowTitles,
        IReadOnlyList<string> methodNames, IReadOnlyList<Tensor> maps, double alpha = 0.75)
    {
        using var scope = torch.NewDisposeScope();
        var rows = new List<IReadOnlyList<RgbImage>>();
        for (var i = 0; i < rowTitles.Count; i++)
        {
            var picture = InputImage.FromTensor(images[i].cpu(), preprocess);
            var cells = new List<RgbImage> { picture };
            cells.AddRange(maps.Select(m => Heatmap.Overlay(picture, m[i].cpu().contiguous().ToArray<float>(), picture.Width, picture.Height, alpha)));
            rows.Add(cells);
        }
        return ImageGrid.Compose(new[] { "image" }.Concat(methodNames).ToList(), rowTitles, rows);
    }
}
