using Harness.Data.Imaging;
using Harness.Reports;

namespace Harness.Tests.Rendering;

public sealed class BitmapFontTests
{
    private static RgbImage White(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)255);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The drawn (non-white) pixels as (x, y).</summary>
    private static List<(int X, int Y)> Inked(RgbImage canvas)
    {
        var inked = new List<(int, int)>();
        for (var y = 0; y < canvas.Height; y++)
            for (var x = 0; x < canvas.Width; x++)
                if (canvas.Pixels[3 * (y * canvas.Width + x)] != 255) inked.Add((x, y));
        return inked;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ALetterStaysInsideItsGlyphBox(int scale)
    {
        var canvas = White(40, 40);
        BitmapFont.DrawText(canvas, 5, 6, "A", (0, 0, 0), scale);
        var inked = Inked(canvas);
        Assert.NotEmpty(inked);
        Assert.All(inked, p => Assert.True(p.X >= 5 && p.X < 5 + 5 * scale && p.Y >= 6 && p.Y < 6 + 7 * scale, $"ink at {p}"));
        Assert.Equal(0, inked.Count % (scale * scale)); // whole scale × scale blocks
    }

    [Fact]
    public void EveryPrintableCharacterHasItsOwnGlyph()
    {
        var box = Glyph('\u00e9'); // no glyph: drawn as a box
        var seen = new Dictionary<string, char>();
        for (var c = '!'; c <= '~'; c++)
        {
            var glyph = Glyph(c);
            Assert.NotEmpty(glyph);
            Assert.NotEqual(box, glyph);
            Assert.False(seen.TryGetValue(glyph, out var twin), $"'{c}' looks like '{twin}'");
            seen[glyph] = c;
        }
        Assert.Empty(Glyph(' '));
    }

    [Fact]
    public void UnknownCharactersDrawAsABox()
    {
        var canvas = White(10, 10);
        BitmapFont.DrawText(canvas, 0, 0, "\u00e9", (0, 0, 0), 1);
        var inked = Inked(canvas);
        Assert.Equal(5 + 5 + 5 + 5, inked.Count); // outline of 5x7: 2 rows of 5 + 2 columns of 5
        Assert.Contains((0, 0), inked);
        Assert.Contains((4, 6), inked);
        Assert.DoesNotContain((2, 3), inked);
    }

    [Fact]
    public void TextIsClippedAtTheBorder()
    {
        var canvas = White(8, 5);
        BitmapFont.DrawText(canvas, -3, -2, "Wide text", (10, 20, 30), 2);
        Assert.NotEmpty(Inked(canvas));
    }

    [Fact]
    public void WidthAndHeightFollowTheAdvance()
    {
        Assert.Equal(0, BitmapFont.MeasureWidth("", 2));
        Assert.Equal(5 * 2, BitmapFont.MeasureWidth("x", 2));
        Assert.Equal((3 * 6 - 1) * 2, BitmapFont.MeasureWidth("abc", 2));
        Assert.Equal(14, BitmapFont.MeasureHeight(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => BitmapFont.MeasureWidth("a", 0));
    }

    private static string Glyph(char c)
    {
        var canvas = White(5, 7);
        BitmapFont.DrawText(canvas, 0, 0, c.ToString(), (0, 0, 0), 1);
        return string.Join(";", Inked(canvas));
    }
}
