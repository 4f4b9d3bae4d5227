using Harness.Data.Imaging;

namespace Harness.Reports;

/// <summary>
/// A built-in 5×7 pixel font for printable ASCII, so labels can be drawn on grids without a font file or a text
/// rendering library. Glyphs are drawn in place on an <see cref="RgbImage"/>'s pixels, scaled by an integer factor
/// (each font pixel becomes a scale × scale block) and clipped at the image border. Characters outside ' '..'~'
/// draw as a hollow box, so a missing glyph is visible rather than silently dropped.
/// </summary>
public static class BitmapFont
{
    public const int GlyphWidth = 5;
    public const int GlyphHeight = 7;

    /// <summary>Horizontal distance between glyph origins at scale 1: the glyph plus one column of spacing.</summary>
    public const int Advance = GlyphWidth + 1;

    // One string per character from ' ' (32) to '~' (126): 7 rows, top first, as 2 hex digits each; bit 4 is the
    // leftmost column. Hand-drawn in the style of the classic HD44780 LCD character set.
    private static readonly string[] Glyphs =
    {
        "00000000000000", "04040404040004", "0A0A0A00000000", "0A0A1F0A1F0A0A", // space ! " #
        "040F140E051E04", "18190204081303", "0C12140815120D", "0C040800000000", // $ % & '
        "02040808080402", "08040202020408", "0004150E150400", "0004041F040400", // ( ) * +
        "000000000C0408", "0000001F000000", "00000000000C0C", "00010204081000", // , - . /
        "0E11131519110E", "040C040404040E", "0E11010204081F", "1F02040201110E", // 0 1 2 3
        "02060A121F0202", "1F101E0101110E", "0608101E11110E", "1F010204080808", // 4 5 6 7
        "0E11110E11110E", "0E11110F01020C", "000C0C000C0C00", "000C0C000C0408", // 8 9 : ;
        "02040810080402", "00001F001F0000", "08040201020408", "0E110102040004", // < = > ?
        "0E11010D15150E", "0E1111111F1111", "1E11111E11111E", "0E11101010110E", // @ A B C
        "1C12111111121C", "1F10101E10101F", "1F10101E101010", "0E11101711110F", // D E F G
        "1111111F111111", "0E04040404040E", "0702020202120C", "11121418141211", // H I J K
        "1010101010101F", "111B1515111111", "11111915131111", "0E11111111110E", // L M N O
        "1E11111E101010", "0E11111115120D", "1E11111E141211", "0F10100E01011E", // P Q R S
        "1F040404040404", "1111111111110E", "11111111110A04", "1111111515150A", // T U V W
        "11110A040A1111", "1111110A040404", "1F01020408101F", "0E08080808080E", // X Y Z [
        "00100804020100", "0E02020202020E", "040A1100000000", "0000000000001F", // \ ] ^ _
        "08040200000000", "00000E010F110F", "1010161911111E", "00000E1010110E", // ` a b c
        "01010D1311110F", "00000E111F100E", "0609081C080808", "000F11110F010E", // d e f g
        "10101619111111", "04000C0404040E", "0200060202120C", "10101214181412", // h i j k
        "0C04040404040E", "00001A15151111", "00001619111111", "00000E1111110E", // l m n o
        "00001E111E1010", "00000D130F0101", "00001619101010", "00000E100E011E", // p q r s
        "08081C08080906", "0000111111130D", "00001111110A04", "0000111115150A", // t u v w
        "0000110A040A11", "000011110F010E", "00001F0204081F", "02040408040402", // x y z {
        "04040404040404", "08040402040408", "00000815020000",                   // | } ~
    };

    /// <summary>Width in pixels of <paramref name="text"/> drawn at <paramref name="scale"/> (no trailing gap).</summary>
    public static int MeasureWidth(string text, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckScale(scale);
        return text.Length == 0 ? 0 : (text.Length * Advance - 1) * scale;
    }

    /// <summary>Height in pixels of one line of text at <paramref name="scale"/>.</summary>
    public static int MeasureHeight(int scale = 1)
    {
        CheckScale(scale);
        return GlyphHeight * scale;
    }

    /// <summary>
    /// Draws <paramref name="text"/> on <paramref name="canvas"/> (modifying its pixels) with the top-left corner of
    /// the first glyph at (<paramref name="x"/>, <paramref name="y"/>). Only glyph pixels are written; the
    /// background shows through. Parts outside the canvas are clipped.
    /// </summary>
    public static void DrawText(RgbImage canvas, int x, int y, string text, (byte R, byte G, byte B) color, int scale)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(text);
        CheckScale(scale);
        for (var k = 0; k < text.Length; k++)
        {
            var originX = x + k * Advance * scale;
            for (var row = 0; row < GlyphHeight; row++)
            {
                var bits = RowBits(text[k], row);
                for (var col = 0; col < GlyphWidth; col++)
                    if ((bits & (0x10 >> col)) != 0)
                        FillBlock(canvas, originX + col * scale, y + row * scale, scale, color);
            }
        }
    }

    private static int RowBits(char c, int row)
    {
        if (c is < ' ' or > '~')
            return row is 0 or GlyphHeight - 1 ? 0x1F : 0x11; // hollow box for anything without a glyph
        return Convert.ToInt32(Glyphs[c - ' '].Substring(2 * row, 2), 16);
    }

    private static void FillBlock(RgbImage canvas, int x0, int y0, int size, (byte R, byte G, byte B) color)
    {
        var pixels = canvas.Pixels;
        for (var y = Math.Max(0, y0); y < Math.Min(canvas.Height, y0 + size); y++)
            for (var x = Math.Max(0, x0); x < Math.Min(canvas.Width, x0 + size); x++)
            {
                var i = 3 * (y * canvas.Width + x);
                pixels[i] = color.R;
                pixels[i + 1] = color.G;
                pixels[i + 2] = color.B;
            }
    }

    private static void CheckScale(int scale)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "text scale must be at least 1");
    }
}
