using Harness.Data.Imaging;

namespace Harness.Reports;

/// <summary>
/// Lays images out in a labelled table (for <c>mipin explain</c>: one row per image, one column per method): column
/// titles in a band above the cells, row titles in a band on their left, black text on white.
/// </summary>
public static class ImageGrid
{
    private static readonly (byte, byte, byte) Black = (0, 0, 0);

    /// <summary>
    /// One image holding <paramref name="cells"/>[row][column]. Each column is as wide as its widest cell and each
    /// row as tall as its tallest (cells are centred in their slot, so they need not share a size). Layout, both
    /// ways: padding, title band, padding, then each cell followed by padding. The top band is
    /// <see cref="BitmapFont.MeasureHeight"/>(<paramref name="textScale"/>) tall; the left band is as wide as the
    /// widest row title. Column titles wider than their column are cut to fit rather than overlap their neighbours.
    /// </summary>
    /// <exception cref="ArgumentException">The numbers of rows, titles and cells per row do not agree.</exception>
    public static RgbImage Compose(IReadOnlyList<string> columnTitles, IReadOnlyList<string> rowTitles,
        IReadOnlyList<IReadOnlyList<RgbImage>> cells, int padding = 4, int textScale = 2)
    {
        ArgumentNullException.ThrowIfNull(columnTitles);
        ArgumentNullException.ThrowIfNull(rowTitles);
        ArgumentNullException.ThrowIfNull(cells);
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must not be negative");
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

        var topBand = BitmapFont.MeasureHeight(textScale);
        var leftBand = rowTitles.Max(t => BitmapFont.MeasureWidth(t ?? "", textScale));
        var width = checked(leftBand + columnWidths.Sum() + (columnWidths.Length + 2) * padding);
        var height = checked(topBand + rowHeights.Sum() + (rowHeights.Length + 2) * padding);
        var pixels = new byte[checked(width * height * 3)];
        Array.Fill(pixels, (byte)255);
        var canvas = new RgbImage(width, height, pixels, "grid");

        var cellsLeft = padding + leftBand + padding;
        var cellsTop = padding + topBand + padding;

        var x = cellsLeft;
        for (var c = 0; c < columnTitles.Count; c++)
        {
            var title = FitTitle(columnTitles[c] ?? "", columnWidths[c], textScale);
            var textX = x + (columnWidths[c] - BitmapFont.MeasureWidth(title, textScale)) / 2;
            BitmapFont.DrawText(canvas, textX, padding, title, Black, textScale);
            x += columnWidths[c] + padding;
        }

        var y = cellsTop;
        for (var r = 0; r < cells.Count; r++)
        {
            BitmapFont.DrawText(canvas, padding, y + (rowHeights[r] - topBand) / 2, rowTitles[r] ?? "", Black, textScale);
            x = cellsLeft;
            for (var c = 0; c < columnTitles.Count; c++)
            {
                var cell = cells[r][c];
                Blit(cell, canvas, x + (columnWidths[c] - cell.Width) / 2, y + (rowHeights[r] - cell.Height) / 2);
                x += columnWidths[c] + padding;
            }
            y += rowHeights[r] + padding;
        }
        return canvas;
    }

    /// <summary>The longest prefix of <paramref name="title"/> that fits <paramref name="width"/> pixels.</summary>
    private static string FitTitle(string title, int width, int scale)
    {
        var fits = (width + scale) / (BitmapFont.Advance * scale); // MeasureWidth(n chars) = (6n - 1) * scale
        return title.Length <= fits ? title : title[..Math.Max(0, fits)];
    }

    private static void Blit(RgbImage source, RgbImage target, int left, int top)
    {
        var rowBytes = source.Width * 3;
        for (var y = 0; y < source.Height; y++)
            Buffer.BlockCopy(source.Pixels, y * rowBytes, target.Pixels, ((top + y) * target.Width + left) * 3, rowBytes);
    }
}
