using Harness.Data.Imaging;
using Harness.Reports;

namespace Harness.Tests.Rendering;

public sealed class ImageGridTests
{
    private static RgbImage Solid(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < pixels.Length; i += 3) (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        return new RgbImage(width, height, pixels);
    }

    private static (byte, byte, byte) At(RgbImage image, int x, int y)
    {
        var i = 3 * (y * image.Width + x);
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }

    [Fact]
    public void SizeIsCellsPlusPaddingsPlusTitleBands()
    {
        var cells = new[]
        {
            new[] { Solid(30, 20, 255, 0, 0), Solid(30, 20, 0, 255, 0), Solid(30, 20, 0, 0, 255) },
            new[] { Solid(30, 20, 9, 9, 9), Solid(30, 20, 9, 9, 9), Solid(30, 20, 9, 9, 9) },
        };
        const int padding = 4;
        const float size = 15;
        var grid = ImageGrid.Compose(new[] { "img", "grad", "cam" }, new[] { "cat", "dog_1" }, cells, padding, size);

        using var font = new SkiaSharp.SKFont(ReportFonts.Regular, size);
        var leftBand = (int)Math.Ceiling(font.MeasureText("dog_1"));
        var topBand = ImageGrid.LineHeight(font);
        Assert.InRange(topBand, 15, 20); // DejaVu Sans: about 1.16 em per line
        Assert.Equal(leftBand + 3 * 30 + (3 + 2) * padding, grid.Width);
        Assert.Equal(topBand + 2 * 20 + (2 + 2) * padding, grid.Height);

        // Cells sit after the bands: cell (0, 0) starts at (2 padding + left band, 2 padding + top band).
        var left = 2 * padding + leftBand;
        var top = 2 * padding + topBand;
        Assert.Equal(((byte)255, (byte)0, (byte)0), At(grid, left, top));
        Assert.Equal(((byte)0, (byte)0, (byte)255), At(grid, left + 2 * (30 + padding) + 29, top + 19));
        Assert.Equal(((byte)255, (byte)255, (byte)255), At(grid, left + 30, top)); // padding between cells
        // Titles are dark ink on white, within their bands (antialiased, so the darkest pixel is near black).
        Assert.True(Darkest(grid, 0, padding, grid.Width, topBand) < 60, "no column title ink in the top band");
        Assert.True(Darkest(grid, padding, top, leftBand, 20) < 60, "no row title ink in the left band");
    }

    [Fact]
    public void CellsOfDifferentSizesAreCentredInTheirSlots()
    {
        var grid = ImageGrid.Compose(new[] { "a", "b" }, new[] { "" },
            new[] { new[] { Solid(10, 10, 1, 1, 1), Solid(4, 6, 2, 2, 2) } }, padding: 1, fontSize: 10);
        using var font = new SkiaSharp.SKFont(ReportFonts.Regular, 10);
        var band = ImageGrid.LineHeight(font);
        Assert.Equal(0 + 10 + 4 + 4 * 1, grid.Width);     // empty row titles: a zero-width left band
        Assert.Equal(band + 10 + 3 * 1, grid.Height);
        // The 4×6 cell is centred in its 4×10 slot: it starts 2 rows down.
        Assert.Equal(((byte)2, (byte)2, (byte)2), At(grid, 2 + 10 + 1 + 3, 2 + band + 2));
        Assert.Equal(((byte)255, (byte)255, (byte)255), At(grid, 2 + 10 + 1 + 3, 2 + band));
    }

    [Fact]
    public void WrongNumberOfCellsInARowThrows()
    {
        var cell = Solid(5, 5, 0, 0, 0);
        var error = Assert.Throws<ArgumentException>(() => ImageGrid.Compose(new[] { "a", "b" }, new[] { "r0", "r1" },
            new[] { new[] { cell, cell }, new[] { cell } }));
        Assert.Contains("row 1", error.Message);
        Assert.Throws<ArgumentException>(() => ImageGrid.Compose(new[] { "a" }, new[] { "r0", "r1" }, new[] { new[] { cell } }));
    }

    [Fact]
    public void LongColumnTitlesShrinkThenShortenWithinTheirColumn()
    {
        var cell = Solid(60, 8, 0, 0, 0);
        var grid = ImageGrid.Compose(new[] { "integrated_gradients", "b" }, new[] { "" }, new[] { new[] { cell, cell } }, 2, 15);
        using var font = new SkiaSharp.SKFont(ReportFonts.Regular, 15);
        var band = ImageGrid.LineHeight(font);
        // No title ink in the padding column between the two cells, and some ink above the first cell.
        var gap = 2 + 2 + 60;
        Assert.All(Enumerable.Range(0, band + 2), y => Assert.Equal(((byte)255, (byte)255, (byte)255), At(grid, gap, y)));
        Assert.True(Darkest(grid, 4, 2, 60, band) < 80);
    }

    [Fact]
    public void TextIsDrawnWithTheBundledFont()
    {
        Assert.Equal(ReportFonts.FamilyName, ReportFonts.Regular.FamilyName);
        Assert.Equal(ReportFonts.FamilyName, ReportFonts.Bold.FamilyName);
        // "g" and "9" are different glyphs (the old 5×7 bitmap font drew them alike): their ink differs.
        RgbImage Title(string t) => ImageGrid.Compose(new[] { t }, new[] { "" }, new[] { new[] { Solid(30, 1, 255, 255, 255) } }, 0, 20);
        Assert.NotEqual(Title("g").Pixels, Title("9").Pixels);
    }

    private static int Darkest(RgbImage image, int left, int top, int width, int height)
    {
        var darkest = 255;
        for (var y = top; y < Math.Min(top + height, image.Height); y++)
            for (var x = left; x < Math.Min(left + width, image.Width); x++)
                darkest = Math.Min(darkest, At(image, x, y).Item1);
        return darkest;
    }
}
