using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Harness.Data;

namespace Harness.Reports;

/// <summary>
/// Saves raw saliency maps as NumPy <c>.npy</c> files (format version 1.0, little-endian float32, C order) so they
/// can be analysed with <c>numpy.load</c>, and reads such files back. The header is laid out exactly as NumPy 1.24
/// writes it, so the same array gives byte-identical files from either side.
/// See https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html.
/// </summary>
public static partial class NpyWriter
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    // numpy.lib.format constants: data starts on a 64-byte boundary (for memory mapping), and NumPy >= 1.24 pads the
    // header with room for a 21-digit leading dimension so an array can be grown in place; we copy both.
    private const int ArrayAlign = 64;
    private const int GrowthAxisMaxDigits = 21;

    /// <summary>
    /// Writes <paramref name="data"/> with <paramref name="shape"/> (C order: last index fastest) to
    /// <paramref name="path"/>, atomically. Creates the folder if needed.
    /// </summary>
    public static void Save(string path, float[] data, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape ({string.Join(", ", shape)}) has a negative dimension", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values but {data.Length} were given", nameof(data));

        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + PythonTuple(shape) + ", }";
        if (shape.Length > 0)
            header += new string(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        // Magic (6) + version (2) + header length (2) + header + '\n', padded with spaces before the newline.
        var unpadded = Magic.Length + 2 + 2 + header.Length + 1;
        var padding = ArrayAlign - unpadded % ArrayAlign; // NumPy pads a full 64 when already aligned; so do we
        var headerBytes = Encoding.ASCII.GetBytes(header + new string(' ', padding) + "\n");
        if (headerBytes.Length > ushort.MaxValue)
            throw new ArgumentException($"shape with {shape.Length} dimensions needs a header too long for .npy version 1.0", nameof(shape));

        var bytes = new byte[Magic.Length + 4 + headerBytes.Length + checked(data.Length * 4)];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1; // major version
        bytes[7] = 0; // minor version
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerBytes.Length);
        headerBytes.CopyTo(bytes, 10);
        var offset = 10 + headerBytes.Length;
        for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset + 4 * i), data[i]);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// Reads a little-endian float32, C-order <c>.npy</c> file (versions 1.0, 2.0 and 3.0). Anything else (other
    /// dtypes, Fortran order, truncated data) is refused with an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static (float[] Data, int[] Shape) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        InvalidDataException Bad(string why) => new($"'{path}' is not a float32 C-order .npy file: {why}");

        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic)) throw Bad("missing the \\x93NUMPY magic");
        int headerLength, headerStart;
        switch (bytes[6])
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
                headerStart = 10;
                break;
            case 2 or 3: // same layout with a 4-byte header length (3.0 only allows UTF-8 in the header)
                if (bytes.Length < 12) throw Bad("truncated header");
                var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
                if (length > int.MaxValue) throw Bad("header length out of range");
                headerLength = (int)length;
                headerStart = 12;
                break;
            default:
                throw Bad($"unsupported format version {bytes[6]}.{bytes[7]}");
        }
        if ((long)headerStart + headerLength > bytes.Length) throw Bad("truncated header");
        var header = Encoding.UTF8.GetString(bytes, headerStart, headerLength);

        var descr = DescrPattern().Match(header);
        if (!descr.Success) throw Bad("no 'descr' in the header");
        if (descr.Groups[1].Value != "<f4") throw Bad($"dtype '{descr.Groups[1].Value}' (only '<f4' is read)");
        var fortran = FortranPattern().Match(header);
        if (!fortran.Success) throw Bad("no 'fortran_order' in the header");
        if (fortran.Groups[1].Value != "False") throw Bad("Fortran (column-major) order");
        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success) throw Bad("no 'shape' tuple in the header");

        var parts = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new int[parts.Length];
        long count = 1;
        for (var i = 0; i < parts.Length; i++)
        {
            // NumPy may write Python longs as e.g. "3L" (Python 2 files); accept that suffix.
            if (!int.TryParse(parts[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw Bad($"shape entry '{parts[i]}' is not a dimension");
            count *= shape[i];
        }

        var dataStart = headerStart + headerLength;
        if (count > int.MaxValue || bytes.Length - dataStart != count * 4)
            throw Bad($"shape ({string.Join(", ", shape)}) needs {count * 4} data bytes but the file has {bytes.Length - dataStart}");
        var data = new float[count];
        for (var i = 0; i < data.Length; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + 4 * i));
        return (data, shape);
    }

    /// <summary>Python's repr of a tuple of ints: "()", "(5,)", "(3, 5)" (NumPy writes the shape this way).</summary>
    private static string PythonTuple(int[] shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
        _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
    };

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
