namespace Harness.Data.Imaging;

/// <summary>
/// Decodes JPEG files to 8-bit RGB exactly as <c>PIL.Image.open(path).convert("RGB")</c> does (Pillow 9.x over
/// libjpeg-turbo): same IDCT and chroma upsampling, grayscale replicated to three channels, and Adobe CMYK/YCCK
/// converted with Pillow's formula. Thread-safe: every call uses its own TurboJPEG handle.
/// </summary>
public static class JpegDecoder
{
    /// <summary>
    /// The largest image decoded: PIL's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS = 178,956,970
    /// pixels), so a header that claims a huge image (a corrupt or hostile file; fuzzing found one asking for 1.25 GB)
    /// is refused before any allocation, as torchvision's loader would refuse it.
    /// </summary>
    public const long MaxPixels = 178_956_970;

    /// <summary>Reads and decodes the JPEG file at <paramref name="path"/>.</summary>
    /// <param name="onWarning">
    /// Receives libjpeg's warning for files that decode despite damage (e.g. "Premature end of JPEG file" for a
    /// truncated file, whose missing part comes out gray); such files are decoded, not rejected.
    /// </param>
    /// <exception cref="ImageDecodeException">The file is missing, empty, unreadable, not a JPEG, or corrupt.</exception>
    public static RgbImage Decode(string path, Action<string>? onWarning = null)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageDecodeException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, $"read error: {e.Message}", e);
        }
        return Decode(data, path, onWarning);
    }

    /// <summary>Decodes JPEG bytes; <paramref name="source"/> names them in errors and in <see cref="RgbImage.Source"/>.</summary>
    /// <exception cref="ImageDecodeException">The data is empty, not a JPEG, or corrupt.</exception>
    public static unsafe RgbImage Decode(ReadOnlySpan<byte> data, string source, Action<string>? onWarning = null)
    {
        if (data.IsEmpty) throw new ImageDecodeException(source, "empty file");
        // Every JPEG starts with the SOI marker FF D8; checking it first gives a clearer error than libjpeg's.
        if (data.Length < 2 || data[0] != 0xFF || data[1] != 0xD8)
            throw new ImageDecodeException(source, $"not a JPEG ({DescribeNonJpeg(data)})");

        var handle = TurboJpeg.tjInitDecompress();
        if (handle == 0) throw new ImageDecodeException(source, $"cannot initialise TurboJPEG: {TurboJpeg.ErrorMessage(0)}");
        try
        {
            fixed (byte* jpeg = data)
            {
                var size = new System.Runtime.InteropServices.CULong((nuint)data.Length);
                var rc = TurboJpeg.tjDecompressHeader3(handle, jpeg, size, out var width, out var height, out _, out var colorspace);
                if (TurboJpeg.IsFatal(rc, handle) || width <= 0 || height <= 0) throw Corrupt(source, handle);
                ReportWarning(rc, handle, onWarning);

                // Managed arrays are limited to int.MaxValue elements; 4 channels for CMYK.
                if ((long)width * height > MaxPixels)
                    throw new ImageDecodeException(source, $"image of {width}x{height} pixels exceeds the 178,956,970-pixel limit (PIL refuses it too, as a decompression bomb)");

                var cmyk = colorspace is TurboJpeg.TJCS_CMYK or TurboJpeg.TJCS_YCCK;
                var decoded = new byte[width * height * (cmyk ? 4 : 3)];
                fixed (byte* dst = decoded)
                    rc = TurboJpeg.tjDecompress2(handle, jpeg, size, dst, width, 0, height,
                        cmyk ? TurboJpeg.TJPF_CMYK : TurboJpeg.TJPF_RGB, TurboJpeg.DefaultFlags);
                if (TurboJpeg.IsFatal(rc, handle)) throw Corrupt(source, handle);
                ReportWarning(rc, handle, onWarning);

                return new RgbImage(width, height, cmyk ? AdobeCmykToRgb(decoded) : decoded, source);
            }
        }
        finally
        {
            TurboJpeg.tjDestroy(handle);
        }
    }

    /// <summary>
    /// Converts decoded CMYK/YCCK samples as Pillow does. Adobe applications store CMYK inverted (0 = full ink),
    /// so Pillow reads JPEG CMYK with raw mode "CMYK;I" (c = 255 − stored), then <c>convert("RGB")</c> computes
    /// r = (255 − k) − MULDIV255(c, 255 − k) with MULDIV255(a, b) = ((t >> 8) + t) >> 8, t = a·b + 128
    /// (a rounded a·b/255). Checked against Pillow 9.4 for every (c, k) pair.
    /// </summary>
    private static byte[] AdobeCmykToRgb(byte[] stored)
    {
        var pixels = stored.Length / 4;
        var rgb = new byte[pixels * 3];
        for (var i = 0; i < pixels; i++)
        {
            var nk = stored[4 * i + 3]; // 255 − k, with k = 255 − stored
            for (var ch = 0; ch < 3; ch++)
            {
                var c = 255 - stored[4 * i + ch];
                var t = c * nk + 128;
                var v = nk - (((t >> 8) + t) >> 8);
                rgb[3 * i + ch] = (byte)Math.Clamp(v, 0, 255);
            }
        }
        return rgb;
    }

    private static void ReportWarning(int rc, nint handle, Action<string>? onWarning)
    {
        if (onWarning is not null && TurboJpeg.IsWarning(rc, handle)) onWarning(TurboJpeg.ErrorMessage(handle));
    }

    private static ImageDecodeException Corrupt(string source, nint handle) =>
        new(source, $"truncated/corrupt JPEG data: {TurboJpeg.ErrorMessage(handle)}");

    // Names the format when the bytes are a common non-JPEG image (ImageNet has PNGs and CMYKs named .JPEG).
    private static string DescribeNonJpeg(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 4 && data[0] == 0x89 && data[1..4].SequenceEqual("PNG"u8)) return "the data is a PNG image";
        if (data.StartsWith("GIF8"u8)) return "the data is a GIF image";
        if (data.StartsWith("BM"u8)) return "the data looks like a BMP image";
        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8)) return "the data is a WebP image";
        return $"it starts with {Convert.ToHexString(data[..Math.Min(4, data.Length)])}, not the JPEG marker FFD8";
    }
}
