using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Reports;

/// <summary>
/// The images × methods picture that `mipin explain` and the HTML report show: each row is one model input followed
/// by every method's map over it (<see cref="Heatmap.Overlay"/> in the given <see cref="HeatmapStyle"/>) or, with
/// overlay off, beside it as a heat map alone (<see cref="Heatmap.Render"/>), with a
/// colour bar below for each kind of map drawn (unsigned, signed).
/// </summary>
public static class MapGrid
{
    /// <param name="images">Preprocessed inputs, N×3×H×W (any device).</param>
    /// <param name="maps">Per method, N×H×W maps (any device), in <paramref name="methodNames"/> order.</param>
    /// <param name="overlay">Blend each map over the input (default), or draw it alone beside the input.</param>
    public static RgbImage Compose(Tensor images, PreprocessConfig preprocess, IReadOnlyList<string> rowTitles,
        IReadOnlyList<string> methodNames, IReadOnlyList<Tensor> maps, double alpha = 0.75, HeatmapStyle? style = null, bool overlay = true)
    {
        style ??= HeatmapStyle.Default;
        using var scope = torch.NewDisposeScope();
        var rows = new List<IReadOnlyList<RgbImage>>();
        bool anySigned = false, anyUnsigned = false;
        for (var i = 0; i < rowTitles.Count; i++)
        {
            var picture = InputImage.FromTensor(images[i].cpu(), preprocess);
            var cells = new List<RgbImage> { picture };
            foreach (var m in maps)
            {
                var values = m[i].cpu().contiguous().ToArray<float>();
                if (Heatmap.Normalise(values, style, out var signed) is not null)
                {
                    anySigned |= signed;
                    anyUnsigned |= !signed;
                }
                cells.Add(overlay ? Heatmap.Overlay(picture, values, picture.Width, picture.Height, alpha, style)
                    : Heatmap.Render(values, picture.Width, picture.Height, style));
            }
            rows.Add(cells);
        }
        var grid = ImageGrid.Compose(new[] { "image" }.Concat(methodNames).ToList(), rowTitles, rows);
        if (anyUnsigned) grid = ImageGrid.Stack(grid, ColourBar.Render(false, style.ClipPercentile));
        if (anySigned) grid = ImageGrid.Stack(grid, ColourBar.Render(true, style.ClipPercentile));
        return grid;
    }
}
