using System.Buffers.Binary;
using System.IO.Compression;
using CsCheck;
using Harness.Torch;
using Harness.Torch.Serialization;
using Xunit.Abstractions;

namespace Harness.Tests.Fuzzing;

/// <summary>
/// Mutated PyTorch checkpoints through <see cref="PthFile.Read(Stream, string)"/> (zip and legacy formats) and mutated
/// pickles straight through <see cref="RestrictedUnpickler"/>. The restricted unpickler exists because .pth files from
/// the internet are hostile input; it is only worth having if no file makes it (or the zip and storage code around it)
/// crash, allocate without bound, or throw anything but the documented <see cref="CheckpointException"/> naming the
/// file. A checkpoint it accepts must be consistent: every tensor fits its storage and can be materialised.
/// </summary>
/// <remarks>
/// Mutations work at three levels: pickle opcodes (found by walking the pickle: replace, delete, duplicate or insert an
/// opcode, overwrite an opcode's argument with a boundary integer, nest lists deeply), zip structure (a field of a local
/// header, central-directory record or end record set to a boundary value; an entry's bytes mutated and the archive
/// re-zipped with valid CRCs so the damage reaches the reader), and plain bytes of the whole file. Seeds: the checkpoint
/// fixtures (small zip, protocol-4 zip, legacy, the malicious and wrong-global files, a text file), and the data.pkl of
/// the shipped MobileNetV2 checkpoint, a real torchvision pickle, for the direct unpickler test. In the serial
/// collection because it measures process-wide resident memory.
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class UnpicklerFuzzTests
{
    private const int CheckpointIterations = 30000;
    private const int PickleIterations = 15000;
    private const int WarmUpIterations = 1000;

    private static readonly string[] CheckpointSeeds =
        ["small_zip.pth", "small_zip_protocol4.pth", "small_legacy.pth", "evil_zip.pth", "evil_legacy.pth", "wrong_global.pth", "not_a_checkpoint.pth"];

    private readonly ITestOutputHelper _output;
    private readonly byte[][] _checkpoints = CheckpointSeeds.Select(s => File.ReadAllBytes(TestPaths.Fixture("Fixtures", "checkpoints", s))).ToArray();

    public UnpicklerFuzzTests(ITestOutputHelper output) => _output = output;

    // ---- Pickle structure ------------------------------------------------------------------------------------------

    /// <summary>
    /// The opcodes of the consecutive pickles at the start of <paramref name="data"/> (a legacy checkpoint is five of
    /// them, then raw storage bytes), as (offset, length including arguments). Stops at the first byte it cannot walk.
    /// </summary>
    public static List<(int Start, int Length)> Opcodes(byte[] data)
    {
        var ops = new List<(int, int)>();
        var i = 0;
        while (i < data.Length && data[i] == 0x80)
        {
            while (i < data.Length)
            {
                var length = OpcodeLength(data, i);
                if (length <= 0 || i + length > data.Length) return ops;
                ops.Add((i, length));
                i += length;
                if (data[i - length] == (byte)'.') break;
            }
        }
        return ops;
    }

    private static int OpcodeLength(byte[] d, int i)
    {
        int Arg(int size, int lengthBytes)
        {
            if (i + 1 + lengthBytes > d.Length) return -1;
            var n = lengthBytes switch
            {
                1 => d[i + 1],
                4 => (long)BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(i + 1)),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(i + 1)), int.MaxValue),
            };
            return n > d.Length ? -1 : 1 + size + lengthBytes + (int)n;
        }
        switch (d[i])
        {
            case 0x80 or (byte)'K' or (byte)'q' or (byte)'h': return 2;
            case (byte)'M': return 3;
            case (byte)'J' or (byte)'r' or (byte)'j': return 5;
            case 0x95 or (byte)'G': return 9;
            case 0x8a or 0x8c: return Arg(0, 1);
            case (byte)'X': return Arg(0, 4);
            case 0x8d: return Arg(0, 8);
            case (byte)'c':
            {
                var first = Array.IndexOf(d, (byte)'\n', i + 1);
                var second = first < 0 ? -1 : Array.IndexOf(d, (byte)'\n', first + 1);
                return second < 0 ? -1 : second - i + 1;
            }
            case (byte)'}' or (byte)')' or (byte)']' or (byte)'a' or (byte)'e' or (byte)'(' or 0x93 or (byte)'Q' or 0x94
                or (byte)'t' or 0x85 or 0x86 or 0x87 or (byte)'R' or (byte)'b' or (byte)'s' or (byte)'u' or (byte)'N'
                or 0x88 or 0x89 or (byte)'.':
                return 1;
            default: return -1;
        }
    }

    /// <summary>An edit of one pickle opcode, picked by index modulo the number of opcodes.</summary>
    public abstract record PickleEdit
    {
        public abstract byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops);

        protected static (int Start, int Length) Pick(List<(int Start, int Length)> ops, int index) =>
            ops[(int)((uint)index % (uint)ops.Count)];
    }

    /// <summary>Replaces an opcode byte, leaving its old arguments to be misread.</summary>
    public sealed record ReplaceOpcode(int Index, byte Opcode) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var copy = (byte[])pickle.Clone();
            copy[Pick(ops, Index).Start] = Opcode;
            return copy;
        }

        public override string ToString() => $"replace opcode {Index} with 0x{Opcode:X2}";
    }

    /// <summary>Removes an opcode with its arguments.</summary>
    public sealed record DeleteOpcode(int Index) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var (start, length) = Pick(ops, Index);
            return [.. pickle.AsSpan(0, start), .. pickle.AsSpan(start + length)];
        }

        public override string ToString() => $"delete opcode {Index}";
    }

    /// <summary>Repeats an opcode with its arguments.</summary>
    public sealed record DuplicateOpcode(int Index) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var (start, length) = Pick(ops, Index);
            return [.. pickle.AsSpan(0, start + length), .. pickle.AsSpan(start, length), .. pickle.AsSpan(start + length)];
        }

        public override string ToString() => $"duplicate opcode {Index}";
    }

    /// <summary>Inserts bytes (an opcode and perhaps arguments) before an opcode.</summary>
    public sealed record InsertOpcode(int Index, byte[] Bytes) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var start = Pick(ops, Index).Start;
            return [.. pickle.AsSpan(0, start), .. Bytes, .. pickle.AsSpan(start)];
        }

        public override string ToString() => $"insert {Convert.ToHexString(Bytes)} before opcode {Index}";
    }

    /// <summary>Overwrites the first bytes of an opcode's argument (a length, memo index, int) with a boundary value.</summary>
    public sealed record SetArgument(int Index, ulong Value) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var (start, length) = Pick(ops, Index);
            var copy = (byte[])pickle.Clone();
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, Value);
            var count = Math.Min(8, length - 1);
            bytes[..count].CopyTo(copy.AsSpan(start + 1));
            return copy;
        }

        public override string ToString() => $"set argument of opcode {Index} to 0x{Value:X}";
    }

    /// <summary>
    /// A list nested <c>Depth</c> deep (Depth + 1 EMPTY_LISTs, Depth APPENDs) in place of an opcode that pushes one value,
    /// so the pickle stays balanced, or else inserted before the opcode.
    /// </summary>
    public sealed record NestLists(int Index, int Depth) : PickleEdit
    {
        public override byte[] Apply(byte[] pickle, List<(int Start, int Length)> ops)
        {
            var (start, length) = Pick(ops, Index);
            var nest = Nest(Depth);
            var replace = PushesOneValue(pickle[start]);
            return [.. pickle.AsSpan(0, start), .. nest, .. pickle.AsSpan(replace ? start + length : start)];
        }

        public static byte[] Nest(int depth)
        {
            var nest = new byte[2 * depth + 1];
            nest.AsSpan(0, depth + 1).Fill((byte)']');
            nest.AsSpan(depth + 1).Fill((byte)'a');
            return nest;
        }

        private static bool PushesOneValue(byte op) =>
            op is (byte)'X' or 0x8c or 0x8d or (byte)'K' or (byte)'J' or (byte)'M' or (byte)'G' or 0x8a or (byte)'N' or 0x88
                or 0x89 or (byte)'}' or (byte)')' or (byte)']' or (byte)'h' or (byte)'j';

        public override string ToString() => $"nest lists {Depth} deep at opcode {Index}";
    }

    // Every pickle opcode byte (the supported ones and those the unpickler must refuse).
    private static readonly byte[] AllOpcodes =
        "()*.0123FGIJKLMNPQRSTUVXabcdeghijlopqrstu}]".Select(c => (byte)c)
            .Concat(Enumerable.Range(0x80, 0x19).Select(b => (byte)b)).ToArray();

    private static readonly Gen<PickleEdit> PickleEdits = Gen.Frequency(
        (3, Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf(AllOpcodes), (i, op) => (PickleEdit)new ReplaceOpcode(i, op))),
        (2, Gen.Int[0, int.MaxValue].Select(i => (PickleEdit)new DeleteOpcode(i))),
        (2, Gen.Int[0, int.MaxValue].Select(i => (PickleEdit)new DuplicateOpcode(i))),
        (3, Gen.Select(Gen.Int[0, int.MaxValue], Gen.OneOf(AllOpcodes), Mutations.InterestingByte.Array[0, 8],
            (i, op, args) => (PickleEdit)new InsertOpcode(i, [op, .. args]))),
        (3, Gen.Select(Gen.Int[0, int.MaxValue], Mutations.InterestingInteger, (i, v) => (PickleEdit)new SetArgument(i, v))),
        (1, Gen.Select(Gen.Int[0, int.MaxValue], Gen.Frequency((4, Gen.Int[1, 64]), (1, Gen.Int[10_000, 200_000])),
            (i, depth) => (PickleEdit)new NestLists(i, depth))));

    /// <summary>Applies pickle edits in order, re-walking the opcodes after each (an edit may leave nothing to walk).</summary>
    public static byte[] ApplyPickleEdits(byte[] pickle, IEnumerable<PickleEdit> edits)
    {
        foreach (var edit in edits)
        {
            var ops = Opcodes(pickle);
            if (ops.Count == 0) break;
            pickle = edit.Apply(pickle, ops);
        }
        return pickle;
    }

    // ---- Zip structure ---------------------------------------------------------------------------------------------

    /// <summary>Sets a field of one zip record (local header, central-directory record or end record) to a boundary value.</summary>
    public sealed record ZipField(int Record, int Field, ulong Value) : Mutation
    {
        // Offset and width of the fixed fields after each signature (APPNOTE 4.3.7, 4.3.12, 4.3.16).
        private static readonly (int Offset, int Width)[] LocalFields = [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)];
        private static readonly (int Offset, int Width)[] CentralFields =
            [(6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2), (42, 4)];
        private static readonly (int Offset, int Width)[] EndFields = [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)];

        public override byte[] Apply(byte[] input, int focusLength)
        {
            var records = new List<(int At, (int Offset, int Width)[] Fields)>();
            for (var i = 0; i + 4 <= input.Length; i++)
            {
                if (input[i] != (byte)'P' || input[i + 1] != (byte)'K') continue;
                var fields = (input[i + 2], input[i + 3]) switch
                {
                    (3, 4) => LocalFields,
                    (1, 2) => CentralFields,
                    (5, 6) => EndFields,
                    _ => null,
                };
                if (fields is not null) records.Add((i, fields));
            }
            if (records.Count == 0) return input;
            var (at, all) = records[(int)((uint)Record % (uint)records.Count)];
            var (offset, width) = all[(int)((uint)Field % (uint)all.Length)];
            var copy = (byte[])input.Clone();
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, Value);
            var count = Math.Min(width, copy.Length - at - offset);
            if (count > 0) bytes[..count].CopyTo(copy.AsSpan(at + offset));
            return copy;
        }

        public override string ToString() => $"zip record {Record} field {Field} = 0x{Value:X}";
    }

    /// <summary>Mutates one entry of a zip checkpoint and re-zips it (stored, valid CRCs, same names and order).</summary>
    public sealed record ZipEntryEdit(int Entry, PickleEdit[] PickleEdits, Mutation[] Bytes)
    {
        public byte[] Apply(byte[] zipBytes)
        {
            var entries = new List<(string Name, byte[] Data)>();
            using (var zip = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read))
            {
                foreach (var e in zip.Entries)
                {
                    using var s = e.Open();
                    var buffer = new MemoryStream();
                    s.CopyTo(buffer);
                    entries.Add((e.FullName, buffer.ToArray()));
                }
            }
            // Entry 0 (data.pkl) half of the time: the pickle is what matters most.
            var index = Entry % 2 == 0 ? 0 : (int)((uint)Entry % (uint)entries.Count);
            var (name, data) = entries[index];
            data = ApplyPickleEdits(data, PickleEdits);
            data = Mutations.ApplyAll(data, Bytes, data.Length);
            entries[index] = (name, data);

            var output = new MemoryStream();
            using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (n, d) in entries)
                {
                    using var s = zip.CreateEntry(n, CompressionLevel.NoCompression).Open();
                    s.Write(d);
                }
            }
            return output.ToArray();
        }

        public override string ToString() =>
            $"entry {Entry}: pickle edits [{string.Join("; ", PickleEdits.Select(e => e.ToString()))}], bytes [{Mutations.Describe(Bytes)}]";
    }

    /// <summary>A checkpoint fuzz case: a seed, an optional entry edit (zip seeds), then mutations of the file's bytes.</summary>
    public sealed record CheckpointCase(int Seed, ZipEntryEdit? EntryEdit, PickleEdit[] PickleEdits, Mutation[] Mutations)
    {
        public override string ToString() =>
            $"seed {CheckpointSeeds[Seed]}; {(EntryEdit is null ? "" : EntryEdit + "; ")}pickle edits [{string.Join("; ", PickleEdits.Select(e => e.ToString()))}]; " +
            $"bytes [{Fuzzing.Mutations.Describe(Mutations)}]";
    }

    private static readonly Gen<Mutation> ZipFields = Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue],
        Mutations.InterestingInteger, (r, f, v) => (Mutation)new ZipField(r, f, v));

    private static readonly Gen<CheckpointCase> CheckpointCases = Gen.Select(
        Gen.Int[0, CheckpointSeeds.Length - 1],
        Gen.Frequency(
            (1, Gen.Const((ZipEntryEdit?)null)),
            (2, Gen.Select(Gen.Int[0, int.MaxValue], PickleEdits.Array[0, 3],
                Gen.Frequency((2, Gen.Const(Array.Empty<Mutation>())), (1, Mutations.Any(focusShare: 0).Array[1, 2])),
                (e, p, b) => (ZipEntryEdit?)new ZipEntryEdit(e, p, b)))),
        PickleEdits.Array[0, 3],
        Gen.Frequency(
            (2, Gen.Const(Array.Empty<Mutation>())),
            (1, Mutations.Any(focusShare: 0).Array[1, 3]),
            (2, ZipFields.Array[1, 2])),
        (s, e, p, m) => new CheckpointCase(s, e, p, m));

    private byte[] Build(CheckpointCase c)
    {
        var data = _checkpoints[c.Seed];
        var isZip = data.AsSpan().StartsWith("PK\u0003\u0004"u8);
        if (isZip && c.EntryEdit is { } edit) data = edit.Apply(data);
        if (!isZip) data = ApplyPickleEdits(data, c.PickleEdits); // a legacy file is pickles: walk them all
        return Mutations.ApplyAll(data, c.Mutations, data.Length);
    }

    [Fact]
    public void MutatedCheckpointsLoadConsistentlyOrRaiseCheckpointException()
    {
        var outcomes = new Outcomes();
        const string name = "fuzz/checkpoint.pth";
        void Property(CheckpointCase c)
        {
            var bytes = Build(c);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var tensors = PthFile.Read(new MemoryStream(bytes, writable: false), name);
                foreach (var (_, tensor) in tensors)
                {
                    Assert.Null(tensor.DescribeLayoutProblem());
                    Assert.Equal(tensor.ElementCount * tensor.DType.ElementSize(), tensor.ToContiguousBytes().LongLength);
                }
                outcomes.Add("loaded");
            }
            catch (CheckpointException e)
            {
                Assert.Equal(name, e.FilePath);
                Assert.StartsWith(name + ": ", e.Message);
                outcomes.Add("CheckpointException");
            }
            AllocationBound.Check(allocated, bytes.Length);
        }

        const string test = nameof(UnpicklerFuzzTests) + "-pth";
        string Describe(CheckpointCase c) => $"{c}; input saved as {FuzzRunner.SaveFailingInput(test, Build(c), ".pth")}";
        var iterations = FuzzRunner.Iterations(CheckpointIterations);
        FuzzRunner.RunWithoutGrowth(test, 4, CheckpointCases, Property, iterations, WarmUpIterations, Describe, "PthFile.Read", _output);

        _output.WriteLine($"PthFile.Read, {iterations} mutated checkpoints from {CheckpointSeeds.Length} seeds: {outcomes}");
        Assert.True(outcomes["loaded"] > 0 && outcomes["CheckpointException"] > 0, $"the mutations should produce both loadable and refused files: {outcomes}");
    }

    // ---- The unpickler alone ---------------------------------------------------------------------------------------

    /// <summary>A pickle fuzz case: a seed pickle, opcode edits, then byte mutations.</summary>
    public sealed record PickleCase(int Seed, PickleEdit[] Edits, Mutation[] Mutations)
    {
        public override string ToString() =>
            $"pickle seed {Seed}; edits [{string.Join("; ", Edits.Select(e => e.ToString()))}]; bytes [{Fuzzing.Mutations.Describe(Mutations)}]";
    }

    /// <summary>The data.pkl of each zip fixture, and of the shipped MobileNetV2 checkpoint when it is there.</summary>
    private static readonly Lazy<(string Name, byte[] Pickle)[]> Pickles = new(() =>
    {
        var pickles = new List<(string, byte[])>();
        var sources = new[] { "small_zip.pth", "small_zip_protocol4.pth", "wrong_global.pth" }
            .Select(s => TestPaths.Fixture("Fixtures", "checkpoints", s)).ToList();
        var mobileNet = TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth");
        if (File.Exists(mobileNet)) sources.Add(mobileNet);
        foreach (var source in sources)
        {
            using var zip = ZipFile.OpenRead(source);
            var entry = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
            using var s = entry.Open();
            var buffer = new MemoryStream();
            s.CopyTo(buffer);
            pickles.Add((Path.GetFileName(source), buffer.ToArray()));
        }
        return pickles.ToArray();
    });

    [Fact]
    public void MutatedPicklesUnpickleOrRaiseCheckpointException()
    {
        var seeds = Pickles.Value;
        var cases = Gen.Select(Gen.Int[0, seeds.Length - 1], PickleEdits.Array[1, 4],
            Gen.Frequency((3, Gen.Const(Array.Empty<Mutation>())), (1, Mutations.Any(focusShare: 0).Array[1, 2])),
            (s, e, m) => new PickleCase(s, e, m));
        byte[] Build(PickleCase c) => Mutations.ApplyAll(ApplyPickleEdits(seeds[c.Seed].Pickle, c.Edits), c.Mutations, 0);

        // What PthFile's callback does, minus the zip: a storage of the named type, or a documented refusal.
        object PersistentLoad(object?[] pid) =>
            pid is ["storage", PickleGlobal { StorageDType: ScalarType dtype }, string key, string, long numel] && numel >= 0
                ? new StoredStorage(key, dtype, new byte[Math.Min(numel, 64) * dtype.ElementSize()])
                : throw new CheckpointException("fuzz/data.pkl", "unsupported persistent id");

        var outcomes = new Outcomes();
        void Property(PickleCase c)
        {
            var stream = new MemoryStream(Build(c), writable: false);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                new RestrictedUnpickler(stream, "fuzz/data.pkl", "data.pkl", PersistentLoad).Load();
                outcomes.Add("unpickled");
            }
            catch (CheckpointException e)
            {
                Assert.Equal("fuzz/data.pkl", e.FilePath);
                outcomes.Add("CheckpointException");
            }
            AllocationBound.Check(allocated, stream.Length);
        }

        const string test = nameof(UnpicklerFuzzTests) + "-pickle";
        string Describe(PickleCase c) => $"{c} (seed {seeds[c.Seed].Name}); input saved as {FuzzRunner.SaveFailingInput(test, Build(c), ".pkl")}";
        var iterations = FuzzRunner.Iterations(PickleIterations);
        FuzzRunner.RunWithoutGrowth(test, 5, cases, Property, iterations, WarmUpIterations, Describe, "RestrictedUnpickler.Load", _output);

        _output.WriteLine($"RestrictedUnpickler.Load, {iterations} mutated pickles from {seeds.Length} seeds: {outcomes}");
        Assert.True(outcomes["unpickled"] > 0 && outcomes["CheckpointException"] > 0, $"the mutations should produce both readable and refused pickles: {outcomes}");
    }
    // ---- Inputs the fuzzer found, kept as plain regression tests (the fuzz cases move when the generators change) ----

    /// <summary>
    /// The zip directory claims 0x7FFFFFFF (or nearly 2 GiB) bytes for data.pkl: ReadEntry allocated the claimed size
    /// before reading, which threw OutOfMemoryException (or took 2 GiB) instead of reporting the corrupt archive.
    /// </summary>
    [Theory]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(0x7FFF_0000u)]
    public void FuzzFound_HugeClaimedEntrySizeIsACheckpointException(uint claimed)
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("Fixtures", "checkpoints", "small_zip_protocol4.pth"));
        var central = bytes.AsSpan().IndexOf("PK\u0001\u0002"u8); // the first central-directory record: data.pkl
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 24), claimed); // its uncompressed size
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(new MemoryStream(bytes), "huge.pth"));
        Assert.StartsWith("huge.pth: ", e.Message);
        Assert.Contains("data.pkl", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 64 << 20, "the claimed size was allocated");
    }

    /// <summary>
    /// A legacy checkpoint whose state dict holds a list nested a million deep (2 MB of pickle): the unpickler builds it
    /// without recursion, but the legacy loader's storage rebinding walked it recursively, and the stack overflow killed
    /// the process. Now the walk is iterative, and the file is refused because the entry is not a tensor.
    /// </summary>
    [Fact]
    public void FuzzFound_DeeplyNestedLegacyCheckpointIsACheckpointExceptionNotAStackOverflow()
    {
        var legacy = File.ReadAllBytes(TestPaths.Fixture("Fixtures", "checkpoints", "small_legacy.pth"));
        var ops = Opcodes(legacy);
        var stops = ops.Where(o => legacy[o.Start] == (byte)'.').Select(o => o.Start + 1).ToList();
        var file = new MemoryStream();
        file.Write(legacy.AsSpan(0, stops[2])); // magic number, protocol version and sys_info pickles
        file.Write([0x80, 0x02, (byte)'}', (byte)'X', 1, 0, 0, 0, (byte)'a']); // {'a': <nested list>}
        file.Write(NestLists.Nest(1_000_000));
        file.Write([(byte)'s', (byte)'.']);
        file.Write([0x80, 0x02, (byte)']', (byte)'.']); // no storages
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(new MemoryStream(file.ToArray()), "deep.pth"));
        Assert.Contains("entry 'a' is a list of 1, not a tensor", e.Message);
    }
}
