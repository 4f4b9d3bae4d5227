namespace Harness.Data.Imaging;

/// <summary>
/// Encodes <see cref="RgbImage"/>s as baseline JPEG through TurboJPEG (used for heatmap grids). Chroma is kept at
/// full resolution (4:4:4) because heatmap colour maps put their information in hue, which 4:2:0 would blur.
/// Thread-safe: every call uses its own TurboJPEG handle.
/// </summary>
public static class JpegEncoder
{
    /// <summary>The JPEG bytes of <paramref name="image"/> at <paramref name="quality"/> (1..100).</summary>
    public static unsafe byte[] Encode(RgbImage image, int quality = 90)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (quality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality must be between 1 and 100");

        var handle = TurboJpeg.tjInitCompress();
        if (handle == 0) throw new InvalidOperationException($"cannot initialise TurboJPEG: {TurboJpeg.ErrorMessage(0)}");
        byte* jpeg = null;
        try
        {
            var size = new System.Runtime.InteropServices.CULong(0);
            int rc;
            fixed (byte* src = image.Pixels)
                rc = TurboJpeg.tjCompress2(handle, src, image.Width, 0, image.Height, TurboJpeg.TJPF_RGB, &jpeg, &size,
                    TurboJpeg.TJSAMP_444, quality, TurboJpeg.DefaultFlags);
            if (TurboJpeg.IsFatal(rc, handle))
                throw new InvalidOperationException($"JPEG encoding of {image.Width}x{image.Height} image '{image.Source}' failed: {TurboJpeg.ErrorMessage(handle)}");
            return new ReadOnlySpan<byte>(jpeg, checked((int)size.Value)).ToArray();
        }
        finally
        {
            if (jpeg != null) TurboJpeg.tjFree(jpeg);
            TurboJpeg.tjDestroy(handle);
        }
    }

    /// <summary>
    /// Writes <paramref name="image"/> as a JPEG file, atomically: the bytes go to a temporary file in the same
    /// folder, which then replaces <paramref name="path"/>, so readers never see a half-written file.
    /// Creates the folder if needed.
    /// </summary>
    public static void Save(RgbImage image, string path, int quality = 90) => AtomicFile.WriteAllBytes(path, Encode(image, quality));
}
