using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Harness.Data.Imaging;

namespace Harness.Tests.Rendering;

/// <summary>
/// A minimal PNG decoder for tests (8-bit RGB, non-interlaced only), written independently of PngWriter: it checks
/// the signature, every chunk's CRC (bitwise, without a table) and the IHDR fields, inflates the concatenated IDAT
/// data and undoes all five row filters. Validated against a PNG written by PIL (PngWriterTests).
/// </summary>
internal static class PngTestReader
{
    public sealed record Decoded(RgbImage Image, byte[] FilterTypes);

    public static Decoded Read(byte[] png)
    {
        byte[] signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        Assert.Equal(signature, png[..8]);
        int pos = 8, width = 0, height = 0;
        var idat = new MemoryStream();
        var chunks = new List<string>();
        while (true)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var body = png.AsSpan(pos + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            Assert.True(crc == BitwiseCrc(png.AsSpan(pos + 4, 4 + length)), $"bad CRC on chunk {type}");
            chunks.Add(type);
            if (type == "IHDR")
            {
                Assert.Equal(13, length);
                width = BinaryPrimitives.ReadInt32BigEndian(body);
                height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, body[8..].ToArray()); // depth 8, RGB, deflate, filter 0, no interlace
            }
            else if (type == "IDAT") idat.Write(body);
            pos += 12 + length;
            if (type == "IEND") break;
        }
        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal(png.Length, pos); // nothing after IEND

        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        zlib.CopyTo(raw);
        var stride = width * 3;
        var bytes = raw.ToArray();
        Assert.Equal(height * (stride + 1), bytes.Length);

        var pixels = new byte[height * stride];
        var filters = new byte[height];
        for (var y = 0; y < height; y++)
        {
            filters[y] = bytes[y * (stride + 1)];
            for (var i = 0; i < stride; i++)
            {
                int a = i >= 3 ? pixels[y * stride + i - 3] : 0;      // left
                int b = y > 0 ? pixels[(y - 1) * stride + i] : 0;      // above
                int c = i >= 3 && y > 0 ? pixels[(y - 1) * stride + i - 3] : 0; // above-left
                int predictor = filters[y] switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => PaethPredictor(a, b, c),
                    _ => throw new InvalidDataException($"filter type {filters[y]} on row {y}"),
                };
                pixels[y * stride + i] = (byte)(bytes[y * (stride + 1) + 1 + i] + predictor);
            }
        }
        return new Decoded(new RgbImage(width, height, pixels, "png"), filters);
    }

    // Written from the PNG specification's pseudocode (section 9.4), not shared with the writer.
    private static int PaethPredictor(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var d in data)
        {
            crc ^= d;
            for (var k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
