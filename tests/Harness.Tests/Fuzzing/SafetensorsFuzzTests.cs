using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Harness.Torch;
using Harness.Torch.Serialization;
using Xunit.Abstractions;

namespace Harness.Tests.Fuzzing;

/// <summary>
/// Mutated safetensors files through <see cref="SafetensorsFile.Read(string)"/>. Weights come from the internet, and the
/// format is "safe" only if the reader is: a hostile header must not make it allocate without bound, index out of
/// range, overflow, or throw anything but the documented <see cref="CheckpointException"/> naming the file. A file it
/// accepts must be consistent: every tensor fits its bytes and can be materialised.
/// </summary>
/// <remarks>
/// Two kinds of edits: structural ones on the parsed JSON header (dtype, shape, data_offsets, names, __metadata__, a
/// duplicated key, raw escapes) and on the 8-byte little-endian header length, then byte-level ones on the whole file,
/// half of them aimed at the length and header. Seeds: the checkpoint fixtures (including the two truncated ones) and
/// Golden/ops.safetensors. In the serial collection because it measures process-wide resident memory.
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class SafetensorsFuzzTests : IDisposable
{
    private const int Iterations = 16000;
    private const int WarmUpIterations = 1000;

    private static readonly string[] SeedPaths =
    [
        TestPaths.Fixture("Fixtures", "checkpoints", "small.safetensors"),
        TestPaths.Fixture("Fixtures", "checkpoints", "truncated.safetensors"),
        TestPaths.Fixture("Fixtures", "checkpoints", "truncated_header.safetensors"),
        TestPaths.Fixture("Golden", "ops.safetensors"),
    ];

    private readonly ITestOutputHelper _output;
    private readonly string _folder = Directory.CreateTempSubdirectory("mipin-safetensors-fuzz-").FullName;
    private readonly Seed[] _seeds = SeedPaths.Select(Seed.Read).ToArray();

    public SafetensorsFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A seed file split into its parts; the header is null when it is not a JSON object (a truncated seed).</summary>
    private sealed record Seed(string Name, byte[] File, JsonObject? Header, byte[] Data)
    {
        public static Seed Read(string path)
        {
            var bytes = System.IO.File.ReadAllBytes(path);
            var length = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            if (length > bytes.Length - 8) return new Seed(Path.GetFileName(path), bytes, null, []);
            return new Seed(Path.GetFileName(path), bytes, JsonNode.Parse(bytes.AsSpan(8, (int)length))!.AsObject(),
                bytes[(8 + (int)length)..]);
        }
    }

    /// <summary>An edit of the parsed header, or of its length field.</summary>
    public abstract record HeaderEdit
    {
        /// <summary>Edits the header (a copy); entries are picked by index modulo their count.</summary>
        public virtual void Apply(JsonObject header) { }

        /// <summary>Edits the serialized header text (raw JSON the node API cannot write).</summary>
        public virtual string ApplyText(string json) => json;

        /// <summary>The value the 8-byte length field gets; null keeps the true length.</summary>
        public virtual ulong? Length(ulong actual) => null;

        protected static JsonObject? TensorEntry(JsonObject header, int index)
        {
            var tensors = header.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).Select(p => p.Value!.AsObject()).ToList();
            return tensors.Count == 0 ? null : tensors[(int)((uint)index % (uint)tensors.Count)];
        }
    }

    /// <summary>Sets (or, with a null value, removes) a field of a tensor entry.</summary>
    public sealed record SetField(int Entry, string Field, string? Json) : HeaderEdit
    {
        public override void Apply(JsonObject header)
        {
            if (TensorEntry(header, Entry) is not { } entry) return;
            if (Json is null) entry.Remove(Field);
            else entry[Field] = JsonNode.Parse(Json);
        }

        public override string ToString() => Json is null ? $"remove {Field} of entry {Entry}" : $"set {Field} of entry {Entry} to {Json}";
    }

    /// <summary>Renames a tensor entry; the name is raw JSON string content (escapes such as a lone surrogate included).</summary>
    public sealed record Rename(int Entry, string RawName) : HeaderEdit
    {
        private const string Placeholder = "\u0001fuzz-renamed\u0001";

        public override void Apply(JsonObject header)
        {
            var names = header.Where(p => p.Key != "__metadata__").Select(p => p.Key).ToList();
            if (names.Count == 0 || header.ContainsKey(Placeholder)) return; // one rename per case
            var name = names[(int)((uint)Entry % (uint)names.Count)];
            var index = header.IndexOf(name);
            var value = header[name];
            header.Remove(name);
            header.Insert(index, Placeholder, value);
        }

        public override string ApplyText(string json) => json.Replace("\"\\u0001fuzz-renamed\\u0001\"", $"\"{RawName}\"", StringComparison.Ordinal);

        public override string ToString() => $"rename entry {Entry} to \"{RawName}\"";
    }

    /// <summary>
    /// Gives a tensor a new shape and keeps the file consistent: its bytes are resized to what the shape needs (zeros;
    /// when that is representable and at most 1 MiB, else none) and every tensor's data_offsets re-tiled. This reaches
    /// the checks after the tiling ones with extreme but self-consistent shapes (zero-sized dimensions next to huge ones).
    /// </summary>
    public sealed record Reshape(int Entry, string[] Dimensions) : HeaderEdit
    {
        public const string LengthKey = "\u0001fuzz-length";

        public override void Apply(JsonObject header)
        {
            if (TensorEntry(header, Entry) is not { } entry) return;
            entry["shape"] = JsonNode.Parse("[" + string.Join(",", Dimensions) + "]");
            var elementSize = entry["dtype"] is JsonValue d && d.TryGetValue<string>(out var code) ? code switch
            {
                "F64" or "I64" => 8, "F32" or "I32" => 4, "F16" or "BF16" or "I16" => 2, _ => 1,
            } : 1;
            System.Numerics.BigInteger bytes = elementSize;
            foreach (var dim in Dimensions)
                bytes *= System.Numerics.BigInteger.TryParse(dim, out var v) && v >= 0 ? v : 0;
            entry[LengthKey] = bytes <= 1 << 20 ? (long)bytes : 0;
        }

        public override string ToString() => $"reshape entry {Entry} to [{string.Join(",", Dimensions)}] consistently";
    }

    /// <summary>Replaces __metadata__ with the given JSON (raw text, so invalid escapes can be written too).</summary>
    public sealed record SetMetadata(string RawJson) : HeaderEdit
    {
        private const string Placeholder = "\"fuzz-metadata-placeholder\"";

        public override void Apply(JsonObject header)
        {
            header.Remove("__metadata__");
            header.Insert(0, "__metadata__", JsonValue.Create("fuzz-metadata-placeholder"));
        }

        public override string ApplyText(string json) => json.Replace(Placeholder, RawJson, StringComparison.Ordinal);

        public override string ToString() => $"set __metadata__ to {RawJson}";
    }

    /// <summary>Appends a second member with the name of an existing entry (JSON objects may not repeat names).</summary>
    public sealed record DuplicateEntry(int Entry) : HeaderEdit
    {
        private const string Marker = "\"fuzz-duplicate-marker\":0";

        public override void Apply(JsonObject header)
        {
            var names = header.Select(p => p.Key).ToList();
            if (names.Count == 0) return;
            var name = names[(int)((uint)Entry % (uint)names.Count)];
            header["fuzz-duplicate-marker"] = 0;
            DuplicateName = name;
            DuplicateValue = header[name]?.ToJsonString() ?? "null";
        }

        private string? DuplicateName { get; set; }
        private string? DuplicateValue { get; set; }

        public override string ApplyText(string json) => DuplicateName is null ? json
            : json.Replace(Marker, $"{JsonValue.Create(DuplicateName)!.ToJsonString()}:{DuplicateValue}", StringComparison.Ordinal);

        public override string ToString() => $"duplicate entry {Entry}";
    }

    /// <summary>Gives the 8-byte length field a boundary value, or the true length plus a small offset.</summary>
    public sealed record SetLength(ulong? Value, int Delta) : HeaderEdit
    {
        public override ulong? Length(ulong actual) => Value ?? actual + (ulong)(long)Delta;

        public override string ToString() => Value is { } v ? $"header length 0x{v:X}" : $"header length {Delta:+0;-0}";
    }

    /// <summary>A fuzz case: a seed, edits of its header, then byte-level mutations of the file.</summary>
    public sealed record Case(int Seed, HeaderEdit[] Edits, Mutation[] Mutations)
    {
        public override string ToString() =>
            $"seed {Seed}; header edits: [{string.Join("; ", Edits.Select(e => e.ToString()))}]; bytes: [{Fuzzing.Mutations.Describe(Mutations)}]";
    }

    private static readonly Gen<string> Dimension = Gen.Frequency(
        (4, Gen.Int[0, 8].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (3, Gen.OneOf("0", "1", "-1", "4294967296", "4611686018427387904", "9223372036854775807", "9223372036854775808",
            "18446744073709551615", "1e3", "1.5", "-0", "1e400", "\"3\"", "null", "true", "[]")),
        (1, Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    // Small sizes (a loadable file), anything, or the extremes: zero next to sizes whose product overflows 64 bits.
    private static readonly Gen<string> ReshapeDimension = Gen.Frequency(
        (2, Gen.Int[0, 4].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (1, Dimension),
        (1, Gen.OneOf("0", "1", "4294967296", "4611686018427387904", "9223372036854775807")));

    private static readonly Gen<string> OffsetsArray =
        Gen.Int[0, 5].SelectMany(n => Dimension.Array[n]).Select(items => "[" + string.Join(",", items) + "]");

    private static readonly Gen<string> DType = Gen.OneOf(
        "\"F64\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"", "\"U8\"", "\"BOOL\"",
        "\"F8_E4M3\"", "\"U64\"", "\"C64\"", "\"\"", "\"f32\"", "5", "null", "[\"F32\"]", "{}");

    private static readonly Gen<string> RawName = Gen.OneOf(
        "__metadata__", "", " ", "conv.weight", "conv.bias", "\\u0000", "\\ud800", "\\udc00x", "\\ud800\\ud800", "caf\\u00e9",
        "a\\\"b", new string('n', 300));

    private static readonly Gen<string> Metadata = Gen.OneOf(
        "{}", "{\"format\":\"pt\"}", "{\"format\":5}", "{\"format\":null}", "{\"k\":\"\\ud800\"}", "{\"\\udfff\":\"v\"}", "[]",
        "\"pt\"", "null", "{\"a\":{\"b\":\"c\"}}");

    private static readonly Gen<HeaderEdit> Edit = Gen.Frequency(
        (3, Gen.Select(Gen.Int[0, int.MaxValue], Dimension.Array[0, 5], (e, dims) => (HeaderEdit)new SetField(e, "shape", "[" + string.Join(",", dims) + "]"))),
        (3, Gen.Select(Gen.Int[0, int.MaxValue], OffsetsArray, (e, offsets) => (HeaderEdit)new SetField(e, "data_offsets", offsets))),
        (2, Gen.Select(Gen.Int[0, int.MaxValue], Dimension, Dimension, (e, a, b) => (HeaderEdit)new SetField(e, "data_offsets", $"[{a},{b}]"))),
        (2, Gen.Select(Gen.Int[0, int.MaxValue], DType, (e, d) => (HeaderEdit)new SetField(e, "dtype", d))),
        (1, Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf("dtype", "shape", "data_offsets"), (e, f) => (HeaderEdit)new SetField(e, f, null))),
        (3, Gen.Select(Gen.Int[0, int.MaxValue], ReshapeDimension.Array[0, 5], (e, dims) => (HeaderEdit)new Reshape(e, dims))),
        (1, Gen.Select(Gen.Int[0, int.MaxValue], RawName, (e, n) => (HeaderEdit)new Rename(e, n))),
        (1, Metadata.Select(m => (HeaderEdit)new SetMetadata(m))),
        (1, Gen.Int[0, int.MaxValue].Select(e => (HeaderEdit)new DuplicateEntry(e))),
        (2, Gen.Select(Gen.Frequency((1, Gen.Const((ulong?)null)), (2, Mutations.InterestingInteger.Select(v => (ulong?)v))), Gen.Int[-16, 16],
            (v, d) => (HeaderEdit)new SetLength(v, d))));

    private static readonly Gen<Case> Cases = Gen.Select(
        Gen.Int[0, SeedPaths.Length - 1],
        Edit.Array[0, 3],
        Gen.Frequency((1, Gen.Const(Array.Empty<Mutation>())), (1, Mutations.Any(focusShare: 3).Array[1, 3])),
        (s, e, m) => new Case(s, e, m));

    /// <summary>The mutated file's bytes.</summary>
    private byte[] Build(Case c)
    {
        var seed = _seeds[c.Seed];
        byte[] file;
        int focus;
        if (seed.Header is null)
        {
            file = seed.File;
            focus = file.Length;
        }
        else
        {
            var header = seed.Header.DeepClone().AsObject();
            // Each case gets fresh edit instances' state (DuplicateEntry remembers what it copied).
            var edits = c.Edits.Select(e => e with { }).ToList();
            foreach (var edit in edits) edit.Apply(header);
            var data = seed.Data;
            if (edits.Any(e => e is Reshape)) data = Retile(header, data);
            var json = header.ToJsonString();
            foreach (var edit in edits) json = edit.ApplyText(json);
            var headerBytes = Encoding.UTF8.GetBytes(json);
            var length = (ulong)headerBytes.Length;
            foreach (var edit in edits) length = edit.Length(length) ?? length;
            file = new byte[8 + headerBytes.Length + data.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(file, length);
            headerBytes.CopyTo(file, 8);
            data.CopyTo(file, 8 + headerBytes.Length);
            focus = 8 + headerBytes.Length;
        }
        return Mutations.ApplyAll(file, c.Mutations, focus);
    }

    /// <summary>
    /// Lays the tensors out again in their order in the buffer: a reshaped one gets zeros of its new length, the others
    /// keep their bytes. Entries whose data_offsets another edit broke keep them (and the file stays broken).
    /// </summary>
    private static byte[] Retile(JsonObject header, byte[] data)
    {
        var tensors = new List<(JsonObject Entry, long Begin, byte[] Bytes)>();
        foreach (var (_, node) in header)
        {
            if (node is not JsonObject entry || entry["data_offsets"] is not JsonArray { Count: 2 } offsets) continue;
            if (offsets[0] is not JsonValue b || !b.TryGetValue<long>(out var begin) || offsets[1] is not JsonValue e
                || !e.TryGetValue<long>(out var end) || begin < 0 || end < begin || end > data.Length) continue;
            var bytes = entry[Reshape.LengthKey] is JsonValue n ? new byte[n.GetValue<long>()] : data[(int)begin..(int)end];
            entry.Remove(Reshape.LengthKey);
            tensors.Add((entry, begin, bytes));
        }
        var output = new MemoryStream();
        foreach (var (entry, _, bytes) in tensors.OrderBy(t => t.Begin))
        {
            entry["data_offsets"] = new JsonArray(output.Length, output.Length + bytes.Length);
            output.Write(bytes);
        }
        foreach (var (_, node) in header) (node as JsonObject)?.Remove(Reshape.LengthKey);
        return output.ToArray();
    }

    [Fact]
    public void MutatedSafetensorsLoadConsistentlyOrRaiseCheckpointException()
    {
        var outcomes = new Outcomes();
        var path = Path.Combine(_folder, "fuzz.safetensors");
        void Property(Case c)
        {
            var file = Build(c);
            File.WriteAllBytes(path, file);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var (tensors, _) = SafetensorsFile.Read(path);
                foreach (var (name, tensor) in tensors)
                {
                    Assert.Null(tensor.DescribeLayoutProblem());
                    Assert.Equal(tensor.ElementCount * tensor.DType.ElementSize(), tensor.ToContiguousBytes().LongLength);
                }
                outcomes.Add("loaded");
            }
            catch (CheckpointException e)
            {
                Assert.Equal(path, e.FilePath);
                Assert.StartsWith(path + ": ", e.Message);
                outcomes.Add("CheckpointException");
            }
            AllocationBound.Check(allocated, file.Length);
        }

        const string test = nameof(SafetensorsFuzzTests);
        string Describe(Case c) => $"{c} (seed file {_seeds[c.Seed].Name}); input saved as {FuzzRunner.SaveFailingInput(test, Build(c), ".safetensors")}";
        var iterations = FuzzRunner.Iterations(Iterations);
        FuzzRunner.RunWithoutGrowth(test, 3, Cases, Property, iterations, WarmUpIterations, Describe, "SafetensorsFile.Read", _output);

        _output.WriteLine($"SafetensorsFile.Read, {iterations} mutated files from {_seeds.Length} seeds: {outcomes}");
        Assert.True(outcomes["loaded"] > 0 && outcomes["CheckpointException"] > 0, $"the mutations should produce both loadable and refused files: {outcomes}");
    }
    // ---- Inputs the fuzzer found, kept as plain regression tests (the fuzz cases move when the generators change) ----

    private string WriteFile(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        var path = Path.Combine(_folder, "regression.safetensors");
        File.WriteAllBytes(path, file);
        return path;
    }

    private static CheckpointException AssertRefused(string path, string problem)
    {
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        return e;
    }

    /// <summary>A byte 0xFF in the header: System.Text.Json parsed it and threw InvalidOperationException when the string was read.</summary>
    [Fact]
    public void FuzzFound_InvalidUtf8InTheHeaderIsACheckpointException()
    {
        var path = WriteFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        var bytes = File.ReadAllBytes(path);
        bytes[8 + 2] = 0xFF; // the tensor name "w"
        File.WriteAllBytes(path, bytes);
        AssertRefused(path, "invalid safetensors header: not valid UTF-8 (byte 0xFF at header offset 2)");
    }

    /// <summary>An escaped unpaired surrogate is valid UTF-8 and valid JSON, but not text: reading the name threw InvalidOperationException.</summary>
    [Theory]
    [InlineData("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"__metadata__\":{\"format\":\"\\udc00\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    public void FuzzFound_EscapedLoneSurrogateIsACheckpointException(string header) =>
        AssertRefused(WriteFile(header, new byte[4]), "not valid Unicode");

    /// <summary>
    /// Zero elements, so zero bytes, but the other dimensions' product overflows 64 bits: the row-major strides cannot be
    /// computed, and StoredTensor.Contiguous threw OverflowException.
    /// </summary>
    [Theory]
    [InlineData("[0,4294967296,4294967296]")]
    [InlineData("[2,0,9223372036854775807,2]")]
    public void FuzzFound_EmptyTensorWithOverflowingStridesIsACheckpointException(string shape) =>
        AssertRefused(WriteFile($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,0]}}}}", []), "too large to address");
}
