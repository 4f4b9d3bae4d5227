using Harness.Data.Imaging;
using SkiaSharp;

namespace Harness.Reports;

/// <summary>
/// Lays images out in a labelled table (for <c>mipin explain</c> and the report: one row per image, one column per
/// method): column titles in a band above the cells, row titles in a band on their left, black DejaVu Sans
/// (<see cref="ReportFonts"/>) on white, drawn with SkiaSharp.
/// </summary>
public static class ImageGrid
{
    /// <summary>The smallest font a column title shrinks to before it is shortened with an ellipsis.</summary>
    public const float MinimumFontSize = 9;

    /// <summary>
    /// One image holding <paramref name="cells"/>[row][column]. Each column is as wide as its widest cell and each
    /// row as tall as its tallest (cells are centred in their slot, so they need not share a size). Layout, both
    /// ways: padding, title band, padding, then each cell followed by padding. The top band is one line of
    /// <paramref name="fontSize"/> tall; the left band is as wide as the widest row title. A column title wider than
    /// its column is drawn smaller (down to <see cref="MinimumFontSize"/>), then shortened with "…", never cut mid-glyph
    /// or drawn over its neighbours.
    /// </summary>
    /// <exception cref="ArgumentException">The numbers of rows, titles and cells per row do not agree.</exception>
    public static RgbImage Compose(IReadOnlyList<string> columnTitles, IReadOnlyList<string> rowTitles,
        IReadOnlyList<IReadOnlyList<RgbImage>> cells, int padding = 4, float fontSize = 15)
    {
        ArgumentNullException.ThrowIfNull(columnTitles);
        ArgumentNullException.ThrowIfNull(rowTitles);
        ArgumentNullException.ThrowIfNull(cells);
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must not be negative");
        if (!(fontSize >= MinimumFontSize)) throw new ArgumentOutOfRangeException(nameof(fontSize), fontSize, $"font size must be at least {MinimumFontSize}");
        if (columnTitles.Count == 0 || cells.Count == 0) throw new ArgumentException("a grid needs at least one row and one column", nameof(cells));
        if (rowTitles.Count != cells.Count)
            throw new ArgumentException($"{rowTitles.Count} row titles for {cells.Count} rows of cells", nameof(rowTitles));

        var columnWidths = new int[columnTitles.Count];
        var rowHeights = new int[cells.Count];
        for (var r = 0; r < cells.Count; r++)
        {
            var row = cells[r] ?? throw new ArgumentException($"row {r} of cells is null", nameof(cells));
            if (row.Count != columnTitles.Count)
                throw new ArgumentException($"row {r} ('{rowTitles[r]}') has {row.Count} cells but there are {columnTitles.Count} columns", nameof(cells));
            for (var c = 0; c < row.Count; c++)
            {
                var cell = row[c] ?? throw new ArgumentException($"cell ({r}, {c}) is null", nameof(cells));
                columnWidths[c] = Math.Max(columnWidths[c], cell.Width);
                rowHeights[r] = Math.Max(rowHeights[r], cell.Height);
            }
        }

        using var font = new SKFont(ReportFonts.Regular, fontSize) { Edging = SKFontEdging.Antialias, Subpixel = true };
        var topBand = LineHeight(font);
        var leftBand = (int)Math.Ceiling(rowTitles.Max(t => font.MeasureText(t ?? "")));
        var width = checked(leftBand + columnWidths.Sum() + (columnWidths.Length + 2) * padding);
        var height = checked(topBand + rowHeights.Sum() + (rowHeights.Length + 2) * padding);

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        using (var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        {
            canvas.Clear(SKColors.White);
            var cellsLeft = padding + leftBand + padding;
            var cellsTop = padding + topBand + padding;

            var x = cellsLeft;
            for (var c = 0; c < columnTitles.Count; c++)
            {
                using var titleFont = FitFont(font, columnTitles[c] ?? "", columnWidths[c], out var title);
                var textWidth = titleFont.MeasureText(title);
                canvas.DrawText(title, x + (columnWidths[c] - textWidth) / 2, padding + Baseline(font, topBand), titleFont, ink);
                x += columnWidths[c] + padding;
            }

            var y = cellsTop;
            for (var r = 0; r < cells.Count; r++)
            {
                canvas.DrawText(rowTitles[r] ?? "", padding, y + (rowHeights[r] - topBand) / 2f + Baseline(font, topBand), font, ink);
                x = cellsLeft;
                for (var c = 0; c < columnTitles.Count; c++)
                {
                    var cell = cells[r][c];
                    using var picture = ImageEncoder.ToBitmap(cell);
                    canvas.DrawBitmap(picture, x + (columnWidths[c] - cell.Width) / 2, y + (rowHeights[r] - cell.Height) / 2);
                    x += columnWidths[c] + padding;
                }
                y += rowHeights[r] + padding;
            }
        }
        return ImageEncoder.FromBitmap(bitmap, "grid");
    }

    /// <summary><paramref name="top"/> above <paramref name="bottom"/>, each centred horizontally, on white.</summary>
    public static RgbImage Stack(RgbImage top, RgbImage bottom, int padding = 4)
    {
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(bottom);
        int width = Math.Max(top.Width, bottom.Width), height = top.Height + padding + bottom.Height;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var upper = ImageEncoder.ToBitmap(top);
            using var lower = ImageEncoder.ToBitmap(bottom);
            canvas.DrawBitmap(upper, (width - top.Width) / 2, 0);
            canvas.DrawBitmap(lower, (width - bottom.Width) / 2, top.Height + padding);
        }
        return ImageEncoder.FromBitmap(bitmap, top.Source);
    }

    /// <summary>The height of one line of text in <paramref name="font"/>, in whole pixels.</summary>
    public static int LineHeight(SKFont font) => (int)Math.Ceiling(font.Spacing);

    // The y of the baseline that centres a line of this font in a band of height band.
    internal static float Baseline(SKFont font, int band)
    {
        var metrics = font.Metrics;
        return (band - (metrics.Descent - metrics.Ascent)) / 2 - metrics.Ascent;
    }

    // The title in the largest font ≤ the grid's that fits the column, shortened with "…" at the minimum size.
    private static SKFont FitFont(SKFont font, string text, int width, out string fitted)
    {
        var size = font.Size;
        var candidate = new SKFont(font.Typeface, size) { Edging = font.Edging, Subpixel = font.Subpixel };
        while (candidate.MeasureText(text) > width && candidate.Size > MinimumFontSize)
            candidate.Size = Math.Max(MinimumFontSize, candidate.Size - 0.5f);
        fitted = text;
        if (candidate.MeasureText(fitted) <= width) return candidate;
        while (fitted.Length > 1 && candidate.MeasureText(fitted + "…") > width) fitted = fitted[..^1];
        fitted += "…";
        return candidate;
    }
}
