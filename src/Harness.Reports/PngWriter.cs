using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Harness.Data;
using Harness.Data.Imaging;

namespace Harness.Reports;

/// <summary>
/// Encodes <see cref="RgbImage"/>s as PNG (8-bit truecolour, non-interlaced). Lossless, unlike
/// <see cref="JpegEncoder"/>, so saved heatmaps keep their exact colours for later comparison. Each row gets the
/// filter the PNG specification recommends as a heuristic (section 12.8): the one whose output has the smallest sum
/// of absolute values when read as signed bytes, which usually compresses best.
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
    private const int BytesPerPixel = 3;

    /// <summary>The PNG file bytes of <paramref name="image"/>.</summary>
    public static byte[] Encode(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var file = new MemoryStream();
        file.Write(Signature);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), image.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), image.Height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type 2: RGB triples
        header[10] = 0; // compression method 0: zlib deflate (the only one defined)
        header[11] = 0; // filter method 0: adaptive, five per-row filter types
        header[12] = 0; // no interlace
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", CompressedScanlines(image));
        WriteChunk(file, "IEND", ReadOnlySpan<byte>.Empty);
        return file.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="image"/> as a PNG file, atomically (temporary file in the same folder, then moved over
    /// <paramref name="path"/>). Creates the folder if needed.
    /// </summary>
    public static void Save(RgbImage image, string path) => AtomicFile.WriteAllBytes(path, Encode(image));

    private static byte[] CompressedScanlines(RgbImage image)
    {
        var stride = image.Width * BytesPerPixel;
        var previous = new byte[stride]; // the row "above" the first row is all zeros by definition
        var candidate = new byte[stride];
        var best = new byte[stride];
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            for (var y = 0; y < image.Height; y++)
            {
                var row = image.Pixels.AsSpan(y * stride, stride);
                byte bestType = 0;
                var bestCost = long.MaxValue;
                for (byte type = 0; type <= 4; type++)
                {
                    Filter(type, row, previous, candidate);
                    var cost = Cost(candidate);
                    if (cost < bestCost)
                    {
                        bestCost = cost;
                        bestType = type;
                        (best, candidate) = (candidate, best);
                    }
                }
                zlib.WriteByte(bestType);
                zlib.Write(best);
                row.CopyTo(previous);
            }
        }
        return compressed.ToArray();
    }

    /// <summary>Applies PNG filter <paramref name="type"/> (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) to one row.</summary>
    private static void Filter(byte type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> above, Span<byte> output)
    {
        for (var i = 0; i < row.Length; i++)
        {
            int left = i >= BytesPerPixel ? row[i - BytesPerPixel] : 0;
            int up = above[i];
            int upLeft = i >= BytesPerPixel ? above[i - BytesPerPixel] : 0;
            var predictor = type switch
            {
                0 => 0,
                1 => left,
                2 => up,
                3 => (left + up) >> 1,
                _ => Paeth(left, up, upLeft),
            };
            output[i] = unchecked((byte)(row[i] - predictor));
        }
    }

    /// <summary>The Paeth predictor (PNG specification 9.4): whichever neighbour is closest to left + up - upLeft.</summary>
    internal static int Paeth(int left, int up, int upLeft)
    {
        var p = left + up - upLeft;
        var pa = Math.Abs(p - left);
        var pb = Math.Abs(p - up);
        var pc = Math.Abs(p - upLeft);
        if (pa <= pb && pa <= pc) return left;
        return pb <= pc ? up : upLeft;
    }

    private static long Cost(ReadOnlySpan<byte> filtered)
    {
        long sum = 0;
        foreach (var b in filtered) sum += Math.Abs((int)(sbyte)b);
        return sum;
    }

    private static void WriteChunk(Stream file, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        file.Write(typeBytes);
        file.Write(data);
        // The CRC covers the chunk type and data, not the length.
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(typeBytes), data));
        file.Write(word);
    }
}
