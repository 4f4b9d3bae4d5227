namespace Harness.Reports;

/// <summary>
/// CRC-32 as PNG chunks need it (ISO 3309 / ITU-T V.42: reflected polynomial 0xEDB88320, initial value and final
/// XOR 0xFFFFFFFF). Table-driven, one byte at a time: PNG chunks here are small, and this keeps the project free of
/// the System.IO.Hashing package.
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>Continues a running CRC (start with 0) over <paramref name="data"/>; chainable across spans.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);
}
