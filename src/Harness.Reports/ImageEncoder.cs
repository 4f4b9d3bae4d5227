using Harness.Data;
using Harness.Data.Imaging;
using SkiaSharp;

namespace Harness.Reports;

/// <summary>PNG and JPEG files of <see cref="RgbImage"/>s through SkiaSharp (libpng, libjpeg-turbo inside Skia).</summary>
public static class ImageEncoder
{
    /// <summary>The image as an opaque 32-bit Skia bitmap (the caller disposes it).</summary>
    public static SKBitmap ToBitmap(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[checked(image.Width * image.Height * 4)];
        for (int i = 0, j = 0; i < image.Pixels.Length; i += 3, j += 4)
        {
            rgba[j] = image.Pixels[i];
            rgba[j + 1] = image.Pixels[i + 1];
            rgba[j + 2] = image.Pixels[i + 2];
            rgba[j + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    /// <summary>The RGB pixels of a bitmap (alpha dropped; the bitmap is converted to RGBA first when needed).</summary>
    public static RgbImage FromBitmap(SKBitmap bitmap, string source = "")
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var bytes = (rgba ?? bitmap).Bytes;
        var pixels = new byte[checked(bitmap.Width * bitmap.Height * 3)];
        for (int i = 0, j = 0; i < pixels.Length; i += 3, j += 4)
        {
            pixels[i] = bytes[j];
            pixels[i + 1] = bytes[j + 1];
            pixels[i + 2] = bytes[j + 2];
        }
        return new RgbImage(bitmap.Width, bitmap.Height, pixels, source);
    }

    /// <summary>PNG bytes of the image.</summary>
    public static byte[] EncodePng(RgbImage image) => Encode(image, SKEncodedImageFormat.Png, 100);

    /// <summary>JPEG bytes of the image at <paramref name="quality"/> (1–100).</summary>
    public static byte[] EncodeJpeg(RgbImage image, int quality = 92)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        return Encode(image, SKEncodedImageFormat.Jpeg, quality);
    }

    /// <summary>Writes the image atomically as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg).</summary>
    /// <exception cref="ArgumentException">Another extension; the message names the path.</exception>
    public static void Save(RgbImage image, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var bytes = extension switch
        {
            ".png" => EncodePng(image),
            ".jpg" or ".jpeg" => EncodeJpeg(image),
            _ => throw new ArgumentException($"{path}: use a .png or .jpg file name", nameof(path)),
        };
        AtomicFile.WriteAllBytes(path, bytes);
    }

    private static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = ToBitmap(image);
        using var data = bitmap.Encode(format, quality)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {image.Width}x{image.Height} image as {format}");
        return data.ToArray();
    }
}
