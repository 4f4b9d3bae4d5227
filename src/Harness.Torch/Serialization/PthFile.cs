using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;

namespace Harness.Torch.Serialization;

/// <summary>
/// Reads PyTorch <c>torch.save</c> checkpoints holding a state dict (name → tensor), in both the zip
/// format (torch ≥ 1.6) and the legacy format (a sequence of pickles followed by raw storages).
/// Only <see cref="RestrictedUnpickler"/> touches the pickles, so a malicious file is refused
/// instead of executed.
/// </summary>
public static class PthFile
{
    // torch/serialization.py: MAGIC_NUMBER and PROTOCOL_VERSION of the legacy format.
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");
    private const long LegacyProtocolVersion = 1001;

    private const string ResaveFix = "re-save the weights with torch.save(model.state_dict(), path), or convert them to .safetensors";

    /// <summary>Reads the state dict in the file's key order.</summary>
    /// <exception cref="CheckpointException">
    /// The file is missing, unreadable, not a torch.save checkpoint, truncated or corrupted (zip archive, pickle or
    /// storages), or holds something other than a flat dict of plain tensors, or its pickle references code outside the
    /// allow-list. The message names the file and what is wrong; no other exception type comes out of a malformed file
    /// (tests/Harness.Tests/Fuzzing checks this on mutated files).
    /// </exception>
    public static IReadOnlyList<KeyValuePair<string, StoredTensor>> Read(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, $"file not found: {path}", "check the path and the working directory");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot open the file ({e.Message})", null, e);
        }
        using (stream) return Read(stream, path);
    }

    /// <summary>Reads a checkpoint from a stream; <paramref name="displayName"/> names it in error messages.</summary>
    /// <exception cref="CheckpointException">As for <see cref="Read(string)"/>, naming <paramref name="displayName"/>.</exception>
    public static IReadOnlyList<KeyValuePair<string, StoredTensor>> Read(Stream stream, string displayName)
    {
        if (!stream.CanSeek)
        {
            // Both formats need random access (zip directory at the end; legacy length checks).
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }

        try
        {
            long start = stream.Position;
            if (stream.Length - start == 0)
                throw new CheckpointException(displayName, "file is empty (0 bytes)", "the save or download was probably interrupted; re-create the file");
            Span<byte> head = stackalloc byte[4];
            int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            stream.Position = start;

            object? top;
            if (got == 4 && head.SequenceEqual("PK\u0003\u0004"u8)) top = ReadZip(stream, displayName);
            else if (head[0] == 0x80) top = ReadLegacy(stream, displayName); // pickle PROTO opcode
            else
            {
                throw new CheckpointException(displayName,
                    "not a PyTorch checkpoint: it is neither a zip archive (torch >= 1.6) nor a legacy torch.save pickle",
                    "check that the path points at a .pth/.pt file written by torch.save (use SafetensorsFile for .safetensors)");
            }
            return ExtractStateDict(top, displayName);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new CheckpointException(displayName, $"read error: {e.Message}", "the file is probably corrupted; re-create it", e);
        }
    }

    private static object? ReadZip(Stream stream, string path)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(path, $"corrupt or truncated zip archive ({e.Message})", "re-download or re-save the checkpoint", e);
        }

        using (zip)
        {
            // torch names the archive's single top folder after the file ("small_zip/" or "archive/").
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pickles.Count != 1)
            {
                bool torchScript = zip.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal));
                throw new CheckpointException(path,
                    pickles.Count == 0 ? "zip archive has no '<folder>/data.pkl' entry, so it is not a torch.save checkpoint"
                                       : "zip archive has several '<folder>/data.pkl' entries",
                    torchScript ? "this looks like a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead" : ResaveFix);
            }
            string prefix = pickles[0].FullName[..^"data.pkl".Length];

            // Newer torch records the byte order; older files are always little-endian.
            ZipArchiveEntry? byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                using var reader = new StreamReader(byteOrder.Open());
                string order = reader.ReadToEnd().Trim();
                if (order != "little")
                    throw new CheckpointException(path, $"storages are stored {order}-endian; only little-endian checkpoints are supported", "re-save the checkpoint on a little-endian machine");
            }

            var raw = new Dictionary<string, ReadOnlyMemory<byte>>();
            var storages = new Dictionary<(string, ScalarType), StoredStorage>();
            object LoadStorage(object?[] pid)
            {
                var (dtype, key, numel) = ParseStoragePid(pid, 5, path);
                if (!storages.TryGetValue((key, dtype), out StoredStorage? storage))
                {
                    if (!raw.TryGetValue(key, out ReadOnlyMemory<byte> bytes))
                    {
                        string name = prefix + "data/" + key;
                        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new CheckpointException(path,
                            $"missing storage entry '{name}' referenced by the pickle", "the file is incomplete or corrupted; re-create it");
                        bytes = raw[key] = ReadEntry(entry, stream.Length, path);
                    }
                    storage = storages[(key, dtype)] = MakeStorage(key, dtype, numel, bytes, path);
                }
                return storage;
            }

            using var pickle = new MemoryStream(ReadEntry(pickles[0], stream.Length, path));
            return new RestrictedUnpickler(pickle, path, pickles[0].FullName, LoadStorage).Load();
        }
    }

    // The sizes in a zip directory are claims. A buffer of the claimed size is allocated up front only when the
    // archive could hold that many bytes (always, for torch's uncompressed entries); a larger claim, possible only for
    // a compressed entry, is read into a buffer that grows with the data that actually comes out. Otherwise one
    // corrupt size field made this allocate up to 2 GiB, or throw OutOfMemoryException, before reading a byte.
    private static byte[] ReadEntry(ZipArchiveEntry entry, long archiveLength, string path)
    {
        if (entry.Length > int.MaxValue)
            throw new CheckpointException(path, $"zip entry '{entry.FullName}' is {entry.Length} bytes; storages over 2 GiB are not supported");
        try
        {
            using Stream s = entry.Open();
            if (entry.Length <= archiveLength)
            {
                var bytes = new byte[entry.Length];
                s.ReadExactly(bytes);
                return bytes;
            }
            var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int read;
            while (buffer.Length < entry.Length && (read = s.Read(chunk, 0, (int)Math.Min(chunk.Length, entry.Length - buffer.Length))) > 0)
                buffer.Write(chunk, 0, read);
            if (buffer.Length != entry.Length)
                throw new EndOfStreamException($"it ends after {buffer.Length} of the {entry.Length} bytes the zip directory states");
            return buffer.ToArray();
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException)
        {
            throw new CheckpointException(path, $"cannot read zip entry '{entry.FullName}' ({e.Message}); the file is truncated or corrupted", "re-create the file", e);
        }
    }

    private static object? ReadLegacy(Stream stream, string path)
    {
        object? magic;
        try
        {
            magic = new RestrictedUnpickler(stream, path, "magic-number pickle", null).Load();
        }
        catch (CheckpointException e) when (stream.Position < stream.Length) // a cut-off file is reported as truncated
        {
            throw new CheckpointException(path, $"not a torch.save checkpoint: it starts like a pickle but not with torch's magic number ({e.Problem})", ResaveFix, e);
        }
        if (magic is not BigInteger m || m != LegacyMagic)
            throw new CheckpointException(path, "not a torch.save checkpoint: it is a pickle, but not one starting with torch's magic number", ResaveFix);

        object? protocol = new RestrictedUnpickler(stream, path, "protocol-version pickle", null).Load();
        if (protocol is not long p || p != LegacyProtocolVersion)
            throw new CheckpointException(path, $"unsupported legacy checkpoint protocol version {RestrictedUnpickler.Describe(protocol)}, expected {LegacyProtocolVersion}", ResaveFix);

        object? sysInfo = new RestrictedUnpickler(stream, path, "sys_info pickle", null).Load();
        if (sysInfo is not OrderedDictionary<object, object?> info || !info.TryGetValue("little_endian", out object? little) || little is not bool)
            throw new CheckpointException(path, "legacy checkpoint has no valid sys_info record", ResaveFix);
        if (little is false)
            throw new CheckpointException(path, "checkpoint was written on a big-endian machine; only little-endian checkpoints are supported", "re-save it on a little-endian machine");

        // The storages' bytes come after the pickle that references them, so the pickle gets
        // empty placeholders first, which are swapped for the real storages below.
        var roots = new Dictionary<string, (ScalarType DType, long Numel)>();
        var placeholders = new Dictionary<(string, ScalarType), (StoredStorage Placeholder, string Root, long Offset, long Size)>();
        object LoadStorage(object?[] pid)
        {
            var (dtype, rootKey, numel) = ParseStoragePid(pid, 6, path);
            roots.TryAdd(rootKey, (dtype, numel));
            string key = rootKey;
            long offset = 0, size = numel;
            if (pid[5] is object?[] view)
            {
                // Pre-0.4 checkpoints could save storage views: (view_key, offset, size), in elements.
                if (view.Length != 3 || view[0] is not string viewKey || view[1] is not long o || view[2] is not long s)
                    throw new CheckpointException(path, $"malformed storage view metadata {RestrictedUnpickler.Describe(pid[5])}", ResaveFix);
                (key, offset, size) = (viewKey, o, s);
            }
            else if (pid[5] is not null)
            {
                throw new CheckpointException(path, $"malformed storage view metadata {RestrictedUnpickler.Describe(pid[5])}", ResaveFix);
            }
            if (!placeholders.TryGetValue((key, dtype), out var entry))
                entry = placeholders[(key, dtype)] = (new StoredStorage(key, dtype, ReadOnlyMemory<byte>.Empty), rootKey, offset, size);
            return entry.Placeholder;
        }
        object? top = new RestrictedUnpickler(stream, path, "main pickle", LoadStorage).Load();

        object? keyList = new RestrictedUnpickler(stream, path, "storage-key pickle", null).Load();
        if (keyList is not List<object?> keys || keys.Any(k => k is not string))
            throw new CheckpointException(path, "legacy checkpoint's storage key list is malformed", ResaveFix);

        var rootBytes = new Dictionary<string, ReadOnlyMemory<byte>>();
        Span<byte> countBytes = stackalloc byte[8];
        foreach (string key in keys.Cast<string>())
        {
            if (!roots.TryGetValue(key, out var root))
                throw new CheckpointException(path, $"storage '{key}' is listed but no tensor references it", ResaveFix);
            if (stream.ReadAtLeast(countBytes, 8, throwOnEndOfStream: false) != 8) throw LegacyTruncated(path, key);
            long count = BinaryPrimitives.ReadInt64LittleEndian(countBytes);
            if (count != root.Numel)
                throw new CheckpointException(path, $"storage '{key}' holds {count} elements but the pickle says {root.Numel}; the file is corrupted", "re-create the file");
            if (count > (stream.Length - stream.Position) / root.DType.ElementSize()) throw LegacyTruncated(path, key);
            long byteCount = count * root.DType.ElementSize();
            if (byteCount > int.MaxValue)
                throw new CheckpointException(path, $"storage '{key}' is {byteCount} bytes; storages over 2 GiB are not supported");
            var bytes = new byte[byteCount];
            stream.ReadExactly(bytes);
            rootBytes[key] = bytes;
        }

        var real = new Dictionary<StoredStorage, StoredStorage>(ReferenceEqualityComparer.Instance);
        foreach (var (placeholder, rootKey, offset, size) in placeholders.Values)
        {
            if (!rootBytes.TryGetValue(rootKey, out ReadOnlyMemory<byte> bytes))
                throw new CheckpointException(path, $"missing storage '{rootKey}': the pickle references it but the file does not contain it", "the file is incomplete or corrupted; re-create it");
            int elementSize = placeholder.DType.ElementSize();
            long elements = bytes.Length / elementSize;
            if (offset < 0 || size < 0 || offset > elements || size > elements - offset)
                throw new CheckpointException(path, $"storage view '{placeholder.Key}' (offset {offset}, {size} elements) lies outside storage '{rootKey}'", "the file is corrupted; re-create it");
            real[placeholder] = placeholder with { Bytes = bytes.Slice((int)(offset * elementSize), (int)(size * elementSize)) };
        }

        return Rebind(top, real);
    }

    private static CheckpointException LegacyTruncated(string path, string key) =>
        new(path, $"file is truncated: the data of storage '{key}' is cut off", "re-download or re-save the checkpoint");

    // Swaps the legacy placeholders for the loaded storages throughout the result. Containers are
    // visited once: the memo lets a pickle share them, or even make one contain itself. The walk keeps
    // its own stack: a pickle can nest lists a million deep in 2 MB, and a recursive walk overflowed the
    // thread's stack, which no catch survives.
    private static object? Rebind(object? top, Dictionary<StoredStorage, StoredStorage> real)
    {
        if (top is StoredTensor tensor) return tensor with { Storage = real[tensor.Storage] };
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object>();
        if (top is not null) pending.Push(top);
        object? Visit(object? value)
        {
            if (value is StoredTensor t) return t with { Storage = real[t.Storage] };
            if (value is OrderedDictionary<object, object?> or List<object?> or object?[]) pending.Push(value);
            return value;
        }
        while (pending.Count > 0)
        {
            object value = pending.Pop();
            if (!visited.Add(value)) continue;
            switch (value)
            {
                case OrderedDictionary<object, object?> d:
                    foreach (object key in d.Keys.ToList()) d[key] = Visit(d[key]);
                    break;
                case List<object?> l:
                    for (int i = 0; i < l.Count; i++) l[i] = Visit(l[i]);
                    break;
                case object?[] tuple:
                    for (int i = 0; i < tuple.Length; i++) tuple[i] = Visit(tuple[i]);
                    break;
            }
        }
        return top;
    }

    // ('storage', StorageType, key, location, numel[, view_metadata]); location is irrelevant here
    // because the records are raw bytes that the caller places on a device itself.
    private static (ScalarType DType, string Key, long Numel) ParseStoragePid(object?[] pid, int length, string path)
    {
        if (pid.Length != length || pid[0] is not "storage" || pid[1] is not PickleGlobal { StorageDType: ScalarType dtype }
            || pid[2] is not string key || pid[3] is not string || pid[4] is not long numel || numel < 0)
        {
            string shown = string.Join(", ", pid.Select(RestrictedUnpickler.Describe));
            throw new CheckpointException(path, $"unsupported persistent id ({shown}); expected ('storage', <torch storage type>, key, location, numel)", ResaveFix);
        }
        return (dtype, key, numel);
    }

    private static StoredStorage MakeStorage(string key, ScalarType dtype, long numel, ReadOnlyMemory<byte> bytes, string path)
    {
        if (numel > bytes.Length / dtype.ElementSize())
            throw new CheckpointException(path, $"storage '{key}' is truncated: it should hold {numel} {dtype} elements but has only {bytes.Length} bytes", "re-create the file");
        return new StoredStorage(key, dtype, bytes[..(int)(numel * dtype.ElementSize())]);
    }

    private static IReadOnlyList<KeyValuePair<string, StoredTensor>> ExtractStateDict(object? top, string path)
    {
        if (top is not OrderedDictionary<object, object?> dict)
            throw new CheckpointException(path, $"the checkpoint holds {RestrictedUnpickler.Describe(top)}, not a dict of tensors", ResaveFix);

        // Training checkpoints often wrap the weights: {'state_dict': {...}, 'epoch': 3, ...}.
        if (!dict.Values.All(v => v is StoredTensor))
        {
            foreach (string wrapper in new[] { "state_dict", "model" })
            {
                if (dict.TryGetValue(wrapper, out object? inner) && inner is OrderedDictionary<object, object?> innerDict)
                {
                    dict = innerDict;
                    break;
                }
            }
        }

        var result = new List<KeyValuePair<string, StoredTensor>>(dict.Count);
        foreach (var (key, value) in dict)
        {
            if (key is not string name)
                throw new CheckpointException(path, $"state dict key {RestrictedUnpickler.Describe(key)} is not a string", ResaveFix);
            if (value is not StoredTensor tensor)
            {
                throw new CheckpointException(path,
                    $"entry '{name}' is {RestrictedUnpickler.Describe(value)}, not a tensor; only flat dicts of name -> tensor are supported", ResaveFix);
            }
            string? problem = tensor.DescribeLayoutProblem();
            if (problem is not null)
                throw new CheckpointException(path, $"tensor '{name}' does not fit its storage '{tensor.Storage.Key}': {problem}", "the file is corrupted or truncated; re-create it");
            result.Add(new(name, tensor));
        }
        return result;
    }
}
