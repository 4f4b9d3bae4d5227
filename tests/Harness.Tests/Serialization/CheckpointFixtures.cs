using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Harness.Torch;
using Harness.Torch.Serialization;

namespace Harness.Tests.Serialization;

/// <summary>
/// Shared helpers: the fixture files written by Fixtures/make_checkpoint_fixtures.py (copied next to
/// the test assembly), and the comparison against the independent reference small_expected.json.
/// </summary>
internal static class CheckpointFixtures
{
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "checkpoints", name);

    private static readonly Dictionary<string, ScalarType> DTypeNames = new()
    {
        ["float32"] = ScalarType.Float32, ["float64"] = ScalarType.Float64, ["float16"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16, ["int64"] = ScalarType.Int64, ["int32"] = ScalarType.Int32,
        ["int16"] = ScalarType.Int16, ["int8"] = ScalarType.Int8, ["uint8"] = ScalarType.Byte, ["bool"] = ScalarType.Bool,
    };

    /// <summary>Asserts same keys in the same order, same dtypes, shapes and values as small_expected.json.</summary>
    public static void AssertMatchesExpected(IReadOnlyList<KeyValuePair<string, StoredTensor>> tensors)
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(PathOf("small_expected.json")));
        var entries = expected.RootElement.EnumerateObject().ToList();
        Assert.Equal(entries.Select(e => e.Name), tensors.Select(t => t.Key));
        foreach (var (entry, (name, tensor)) in entries.Zip(tensors))
        {
            Assert.Equal(DTypeNames[entry.Value.GetProperty("dtype").GetString()!], tensor.DType);
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), tensor.Shape);
            var values = entry.Value.GetProperty("values").EnumerateArray().ToList();
            byte[] bytes = tensor.ToContiguousBytes();
            Assert.Equal(values.Count * tensor.DType.ElementSize(), bytes.Length);
            for (int i = 0; i < values.Count; i++)
            {
                // Every stored value is exactly representable in its dtype, so compare exactly.
                object actual = Decode(tensor.DType, bytes, i);
                object wanted = tensor.DType.IsFloatingPoint() ? values[i].GetDouble() : values[i].GetInt64();
                Assert.True(wanted.Equals(actual), $"{name}[{i}]: expected {wanted}, got {actual}");
            }
        }
    }

    /// <summary>Element <paramref name="i"/> of a dense little-endian buffer, widened to double or long.</summary>
    public static object Decode(ScalarType dtype, byte[] bytes, int i)
    {
        int size = dtype.ElementSize();
        ReadOnlySpan<byte> s = bytes.AsSpan(i * size, size);
        return dtype switch
        {
            ScalarType.Float32 => (double)BinaryPrimitives.ReadSingleLittleEndian(s),
            ScalarType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(s),
            ScalarType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(s),
            ScalarType.BFloat16 => (double)BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(s) << 16),
            ScalarType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s),
            ScalarType.Int32 => (long)BinaryPrimitives.ReadInt32LittleEndian(s),
            ScalarType.Int16 => (long)BinaryPrimitives.ReadInt16LittleEndian(s),
            ScalarType.Int8 => (long)(sbyte)s[0],
            ScalarType.Byte or ScalarType.Bool => (long)s[0],
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    /// <summary>A fresh scratch folder under the system temp directory.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mipin-serialization-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes a zip checkpoint in torch's layout from a hand-written pickle and storage entries.</summary>
    public static string WriteZipCheckpoint(string path, byte[] pickle, params (string Key, byte[] Bytes)[] storages)
    {
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            Add(zip, "archive/data.pkl", pickle);
            foreach (var (key, bytes) in storages) Add(zip, "archive/data/" + key, bytes);
            Add(zip, "archive/version", "3\n"u8.ToArray());
        }
        return path;

        static void Add(ZipArchive zip, string name, byte[] bytes)
        {
            using Stream s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
    }
}

/// <summary>Builds protocol-2 pickles by hand, for inputs torch itself would never write.</summary>
internal sealed class PickleBuilder
{
    private readonly MemoryStream _bytes = new();

    public PickleBuilder() => Op(0x80, 2); // PROTO 2

    public PickleBuilder Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleBuilder Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        Op((byte)'X').Op(BitConverter.GetBytes(utf8.Length)).Op(utf8);
        return this;
    }

    public PickleBuilder Int(byte value) => Op((byte)'K', value);

    public PickleBuilder Global(string module, string name) => Op((byte)'c').Op(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));

    public PickleBuilder Mark() => Op((byte)'(');

    /// <summary>The pickles that open a legacy (pre-1.6) torch.save file: magic number, protocol 1001, sys_info.</summary>
    public static byte[] LegacyPreamble() =>
    [
        .. new PickleBuilder().Op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Stop(),
        .. new PickleBuilder().Op((byte)'M', 0xe9, 0x03).Stop(),
        .. new PickleBuilder().Op((byte)'}').Str("little_endian").Op(0x88, (byte)'s').Stop(),
    ];

    /// <summary>
    /// _rebuild_tensor_v2(storage pid, offset, (shape...), (strides...), False, {}) for a FloatStorage.
    /// With <paramref name="legacy"/> the pid gets the legacy format's sixth element: None or the view.
    /// </summary>
    public PickleBuilder FloatTensor(string key, byte numel, byte offset, byte[] shape, byte[] strides,
        bool legacy = false, (string Key, byte Offset, byte Size)? view = null)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", "FloatStorage").Str(key).Str("cpu").Int(numel);
        if (view is var (viewKey, viewOffset, viewSize)) Str(viewKey).Int(viewOffset).Int(viewSize).Op(0x87); // TUPLE3
        else if (legacy) Op((byte)'N');
        Op((byte)'t').Op((byte)'Q');
        Int(offset);
        Mark();
        foreach (byte d in shape) Int(d);
        Op((byte)'t').Mark();
        foreach (byte s in strides) Int(s);
        Op((byte)'t');
        Op(0x89).Op((byte)'}').Op((byte)'t').Op((byte)'R'); // False, {} -> args tuple, REDUCE
        return this;
    }

    public byte[] Stop() => Op((byte)'.')._bytes.ToArray();
}
