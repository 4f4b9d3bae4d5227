using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Harness.Torch.Serialization;

/// <summary>
/// Reads and writes the safetensors format: a u64 little-endian header length N, N bytes of UTF-8
/// JSON (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}</c>),
/// then one byte buffer that the offsets index. No code can hide in it, so it is the preferred format.
/// </summary>
public static class SafetensorsFile
{
    private const string MetadataKey = "__metadata__";

    // The reference implementation refuses larger headers too; it bounds memory spent on a hostile file.
    private const long MaxHeaderSize = 100_000_000;

    private static readonly (string Code, ScalarType DType)[] DTypeCodes =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64), ("I32", ScalarType.Int32), ("I16", ScalarType.Int16), ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    /// <summary>Reads all tensors, ordered by their position in the file, and the string metadata.</summary>
    /// <exception cref="CheckpointException">
    /// The file is missing, unreadable, truncated, or not a valid safetensors file (header length, UTF-8, JSON, dtype,
    /// shape or data_offsets wrong, tensors overlapping or leaving gaps). The message names the file and what is wrong;
    /// no other exception type comes out of a malformed file (tests/Harness.Tests/Fuzzing checks this on mutated files).
    /// </exception>
    public static (IReadOnlyList<KeyValuePair<string, StoredTensor>> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, $"file not found: {path}", "check the path and the working directory");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            return Read(stream, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"read error: {e.Message}", null, e);
        }
    }

    private static (IReadOnlyList<KeyValuePair<string, StoredTensor>>, IReadOnlyDictionary<string, string>) Read(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength == 0)
            throw new CheckpointException(path, "file is empty (0 bytes)", "the save or download was probably interrupted; re-create the file");
        if (fileLength < 8)
            throw new CheckpointException(path, $"file is truncated: {fileLength} bytes, shorter than the 8-byte header length", "re-create the file");

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerSize > MaxHeaderSize && headerSize > (ulong)(fileLength - 8))
        {
            throw new CheckpointException(path, $"header length {headerSize} is larger than the file ({fileLength} bytes): not a safetensors file, or truncated",
                "check that this is a .safetensors file; if it is, re-create it");
        }
        if (headerSize > (ulong)(fileLength - 8))
            throw new CheckpointException(path, $"file is truncated: the header needs {headerSize} bytes but only {fileLength - 8} follow", "re-create the file");
        if (headerSize > MaxHeaderSize)
            throw new CheckpointException(path, $"header of {headerSize} bytes exceeds the {MaxHeaderSize}-byte limit");

        var header = new byte[headerSize];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerSize;
        // The format requires UTF-8. System.Text.Json checks the bytes inside strings only when they are read, and
        // then throws InvalidOperationException, so bad bytes are refused here, with where they are.
        if (FirstInvalidUtf8(header) is int bad)
            throw Bad(path, $"not valid UTF-8 (byte 0x{header[bad]:X2} at header offset {bad})");

        var entries = new List<(string Name, ScalarType DType, long[] Shape, long Begin, long End)>();
        var metadata = new Dictionary<string, string>();
        try
        {
            using var json = JsonDocument.Parse(header);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad(path, "header JSON is not an object");
            var seen = new HashSet<string>();
            foreach (JsonProperty property in json.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw Bad(path, $"header names '{property.Name}' twice");
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object");
                    foreach (JsonProperty item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__ value '{item.Name}' is not a string");
                        metadata[item.Name] = item.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(property, path));
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"header is not valid JSON ({e.Message})", "the file is corrupted; re-create it", e);
        }
        catch (InvalidOperationException e)
        {
            // Valid UTF-8 can still escape an unpaired surrogate ("\ud800"), which is not text: System.Text.Json
            // refuses to turn it into a string when a name or value is read.
            throw new CheckpointException(path, $"invalid safetensors header: a name or string is not valid Unicode ({e.Message})",
                "the file is corrupted or was not written by a safetensors writer; re-create it", e);
        }

        // The JSON object is unordered; the writer lays tensors out in its own order, which the
        // offsets preserve, so sort by offset. The format also requires the offsets to tile the
        // buffer exactly (no gaps, no overlaps, nothing after), which rules out polyglot files.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expectedBegin = 0;
        foreach (var e in entries)
        {
            if (e.Begin < expectedBegin)
                throw Bad(path, $"tensor '{e.Name}' (bytes [{e.Begin}, {e.End})) overlaps the previous tensor, which ends at byte {expectedBegin}");
            if (e.Begin > expectedBegin)
                throw Bad(path, $"data buffer has a gap: bytes [{expectedBegin}, {e.Begin}) before tensor '{e.Name}' belong to no tensor");
            if (e.End > dataLength)
            {
                throw new CheckpointException(path,
                    $"file is truncated: tensor '{e.Name}' needs bytes [{e.Begin}, {e.End}) of the data buffer but it holds only {dataLength} bytes",
                    "re-create the file");
            }
            expectedBegin = e.End;
        }
        if (expectedBegin != dataLength)
            throw Bad(path, $"data buffer has {dataLength - expectedBegin} bytes after the last tensor that belong to no tensor");

        var tensors = new List<KeyValuePair<string, StoredTensor>>(entries.Count);
        long dataStart = 8 + (long)headerSize;
        foreach (var e in entries)
        {
            long length = e.End - e.Begin;
            if (length > int.MaxValue)
                throw new CheckpointException(path, $"tensor '{e.Name}' is {length} bytes; tensors over 2 GiB are not supported");
            var bytes = new byte[length];
            stream.Position = dataStart + e.Begin;
            stream.ReadExactly(bytes);
            tensors.Add(new(e.Name, StoredTensor.Contiguous(e.DType, e.Shape, bytes, e.Name)));
        }
        return (tensors, metadata);
    }

    private static (string Name, ScalarType DType, long[] Shape, long Begin, long End) ParseEntry(JsonProperty property, string path)
    {
        string name = property.Name;
        JsonElement value = property.Value;
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, $"entry '{name}' is not an object");

        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad(path, $"tensor '{name}' has no dtype string");
        string code = dtypeElement.GetString()!;
        int index = Array.FindIndex(DTypeCodes, d => d.Code == code);
        if (index < 0)
        {
            throw new CheckpointException(path, $"tensor '{name}' has unsupported dtype '{code}'",
                $"convert it to one of {string.Join(", ", DTypeCodes.Select(d => d.Code))} before saving");
        }
        ScalarType dtype = DTypeCodes[index].DType;

        long[] shape = ReadLongs(value, "shape", name, path, length: null);
        long[] offsets = ReadLongs(value, "data_offsets", name, path, length: 2);
        if (offsets[1] < offsets[0])
            throw Bad(path, $"tensor '{name}' has data_offsets [{offsets[0]}, {offsets[1]}] that end before they begin");
        long expected;
        try
        {
            // The byte count, and the product with empty dimensions counted as 1: the row-major strides
            // (StoredTensor.RowMajorStrides) must fit in 64 bits too, even when a zero dimension makes the tensor empty.
            expected = dtype.ElementSize();
            long strideSpan = 1;
            foreach (long dim in shape)
            {
                expected = checked(expected * dim);
                strideSpan = checked(strideSpan * Math.Max(dim, 1));
            }
        }
        catch (OverflowException)
        {
            throw Bad(path, $"tensor '{name}' has shape [{string.Join(", ", shape)}], too large to address");
        }
        if (offsets[1] - offsets[0] != expected)
        {
            throw Bad(path, $"tensor '{name}' spans {offsets[1] - offsets[0]} bytes but shape [{string.Join(", ", shape)}] of {code} needs {expected}");
        }
        return (name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadLongs(JsonElement entry, string field, string name, string path, int? length)
    {
        if (!entry.TryGetProperty(field, out JsonElement array) || array.ValueKind != JsonValueKind.Array
            || (length is int n && array.GetArrayLength() != n))
        {
            throw Bad(path, $"tensor '{name}' has no valid '{field}' array");
        }
        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
                throw Bad(path, $"tensor '{name}' has a '{field}' entry that is not a non-negative integer");
            result[i++] = v;
        }
        return result;
    }

    private static int? FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        if (System.Text.Unicode.Utf8.IsValid(text)) return null;
        int offset = 0;
        while (System.Text.Rune.DecodeFromUtf8(text[offset..], out _, out int consumed) == System.Buffers.OperationStatus.Done)
            offset += consumed;
        return offset;
    }

    private static CheckpointException Bad(string path, string problem) =>
        new(path, $"invalid safetensors header: {problem}", "the file is corrupted or was not written by a safetensors writer; re-create it");

    /// <summary>
    /// Writes the tensors (in the given order) and optional metadata. The file is written to a
    /// temporary file in the same folder and then moved over <paramref name="path"/>, so a crash
    /// never leaves a half-written checkpoint under the real name.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, StoredTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = new List<(string Name, StoredTensor Tensor, ReadOnlyMemory<byte> Bytes)>();
        var names = new HashSet<string>();
        foreach (var (name, tensor) in tensors)
        {
            if (name == MetadataKey) throw new CheckpointException(path, $"a tensor may not be named '{MetadataKey}' (reserved by the format)", "rename the tensor");
            if (!names.Add(name)) throw new CheckpointException(path, $"tensor name '{name}' appears twice", "give every tensor a unique name");
            if (Array.FindIndex(DTypeCodes, d => d.DType == tensor.DType) < 0)
                throw new CheckpointException(path, $"tensor '{name}' has dtype {tensor.DType}, which safetensors cannot store");
            string? problem = tensor.DescribeLayoutProblem();
            if (problem is not null) throw new CheckpointException(path, $"tensor '{name}' does not fit its storage: {problem}");
            items.Add((name, tensor, ContiguousBytes(tensor)));
        }

        byte[] header = BuildHeader(items, metadata);
        string temp = IO.WriteTempFile.For(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                foreach (var item in items) stream.Write(item.Bytes.Span);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CheckpointException(path, $"cannot write the file ({e.Message})", "check that the folder exists, is writable and has free space", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static ReadOnlyMemory<byte> ContiguousBytes(StoredTensor tensor)
    {
        if (!tensor.IsContiguous) return tensor.ToContiguousBytes();
        int elementSize = tensor.DType.ElementSize();
        return tensor.Storage.Bytes.Slice((int)(tensor.StorageOffset * elementSize), (int)(tensor.ElementCount * elementSize));
    }

    private static byte[] BuildHeader(List<(string Name, StoredTensor Tensor, ReadOnlyMemory<byte> Bytes)> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new MemoryStream();
        // Relaxed escaping keeps non-ASCII tensor names readable; the header is never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, bytes) in items)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeCodes.First(d => d.DType == tensor.DType).Code);
                json.WriteStartArray("shape");
                foreach (long dim in tensor.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes.Length;
            }
            json.WriteEndObject();
        }
        // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stray temp file is better than hiding the original error.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
