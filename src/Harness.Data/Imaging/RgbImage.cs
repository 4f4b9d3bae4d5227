namespace Harness.Data.Imaging;

/// <summary>
/// A decoded 8-bit RGB image: <see cref="Pixels"/> holds Height × Width × 3 bytes, row-major, channels last
/// (the layout PIL and libjpeg use). <see cref="Source"/> names the file it came from, for error messages.
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels, string source = "")
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} is empty");
        if (pixels.Length != checked(width * height * 3))
            throw new ArgumentException($"{pixels.Length} bytes do not make a {width}x{height} RGB image", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
        Source = source;
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }
    public string Source { get; }
}
