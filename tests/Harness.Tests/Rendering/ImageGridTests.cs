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
        const int padding = 4, scale = 2;
        var grid = ImageGrid.Compose(new[] { "img", "grad", "cam" }, new[] { "cat", "dog_1" }, cells, padding, scale);

        var leftBand = BitmapFont.MeasureWidth("dog_1", scale);
        var topBand = BitmapFont.MeasureHeight(scale);
        Assert.Equal(leftBand + 3 * 30 + (3 + 2) * padding, grid.Width);
        Assert.Equal(topBand + 2 * 20 + (2 + 2) * padding, grid.Height);

        // Cells sit after the bands: cell (0, 0) starts at (2 padding + left band, 2 padding + top band).
        var left = 2 * padding + leftBand;
        var top = 2 * padding + topBand;
        Assert.Equal(((byte)255, (byte)0, (byte)0), At(grid, left, top));
        Assert.Equal(((byte)0, (byte)0, (byte)255), At(grid, left + 2 * (30 + padding) + 29, top + 19));
        Assert.Equal(((byte)255, (byte)255, (byte)255), At(grid, left + 30, top)); // padding between cells
        // Titles are black on white, within their bands.
        Assert.Contains(((byte)0, (byte)0, (byte)0), Enumerable.Range(0, grid.Width).Select(x => At(grid, x, padding + 3)));
        Assert.Contains(((byte)0, (byte)0, (byte)0), Enumerable.Range(padding, leftBand).Select(x => At(grid, x, top + 10)));
    }

    [Fact]
    public void CellsOfDifferentSizesAreCentredInTheirSlots()
    {
        var grid = ImageGrid.Compose(new[] { "a", "b" }, new[] { "" },
            new[] { new[] { Solid(10, 10, 1, 1, 1), Solid(4, 6, 2, 2, 2) } }, padding: 1, textScale: 1);
        Assert.Equal(0 + 10 + 4 + 4 * 1, grid.Width);     // empty row titles: a zero-width left band
        Assert.Equal(7 + 10 + 3 * 1, grid.Height);
        Assert.Equal(((byte)2, (byte)2, (byte)2), At(grid, 2 + 10 + 1 + 3, 2 + 7 + 2));
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
    public void LongColumnTitlesAreCutToTheirColumn()
    {
        var cell = Solid(20, 8, 0, 0, 0);
        var grid = ImageGrid.Compose(new[] { "a very long title", "b" }, new[] { "" }, new[] { new[] { cell, cell } }, 2, 1);
        // No title ink in the padding column between the two cells.
        var gap = 2 + 2 + 20;
        Assert.All(Enumerable.Range(2, 7), y => Assert.Equal(((byte)255, (byte)255, (byte)255), At(grid, gap, y)));
    }
}
