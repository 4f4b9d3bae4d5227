using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Harness.Torch.Serialization;

/// <summary>
/// A pickle virtual machine that understands just enough of the format to read torch.save state
/// dicts, and nothing that could run code. Python's unpickler imports any named global and calls it
/// (that is how malicious checkpoints work); this one resolves only an allow-list of names
/// (<see cref="PickleGlobal.TryResolve"/>) and interprets the two callables it knows itself.
/// </summary>
/// <remarks>
/// Values: None → null, bool, int → long (or <see cref="BigInteger"/> when it does not fit), float →
/// double, str → string, tuple → object?[], list → List&lt;object?&gt;, dict and OrderedDict →
/// OrderedDictionary&lt;object, object?&gt; (insertion order kept, as Python does), a rebuilt tensor →
/// <see cref="StoredTensor"/>, a persistent id → whatever the caller's callback returns.
/// </remarks>
public sealed class RestrictedUnpickler
{
    private readonly Stream _stream;
    private readonly string _path;
    private readonly string _what;
    private readonly Func<object?[], object>? _persistentLoad;
    private long _position;

    private List<object?> _stack = new();
    private readonly Stack<List<object?>> _metaStack = new();
    private readonly Dictionary<long, object?> _memo = new();

    /// <param name="stream">Read from its current position up to and including the STOP opcode, no further.</param>
    /// <param name="path">The checkpoint path, for error messages.</param>
    /// <param name="what">Which pickle this is (e.g. "data.pkl"), for error messages.</param>
    /// <param name="persistentLoad">Turns a persistent id tuple into an object (torch uses these for storages).</param>
    public RestrictedUnpickler(Stream stream, string path, string what, Func<object?[], object>? persistentLoad)
    {
        _stream = stream;
        _path = path;
        _what = what;
        _persistentLoad = persistentLoad;
        _position = stream.CanSeek ? stream.Position : 0; // positions in messages are stream offsets
    }

    /// <summary>Runs the pickle to its STOP opcode and returns the object it built.</summary>
    /// <exception cref="CheckpointException">
    /// The pickle is truncated or malformed, uses an opcode outside the supported subset, or references a global or
    /// call outside the allow-list. The message names the file, the pickle and the byte offset. Exceptions thrown by the
    /// persistent-load callback pass through unchanged.
    /// </exception>
    public object? Load()
    {
        while (true)
        {
            long opcodePosition = _position;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    byte protocol = ReadByte();
                    if (protocol > 5) throw Fail($"unsupported pickle protocol {protocol} at byte {opcodePosition}");
                    break;
                case 0x95: // FRAME: a length hint only; the opcodes inside are read like any others
                    ReadBytes(8);
                    break;
                case (byte)'}': Push(new OrderedDictionary<object, object?>()); break; // EMPTY_DICT
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'a': // APPEND
                {
                    object? item = Pop();
                    AsList(Peek(), "APPEND").Add(item);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    List<object?> items = PopMark();
                    AsList(Peek(), "APPENDS").AddRange(items);
                    break;
                }
                case (byte)'(': // MARK
                    _metaStack.Push(_stack);
                    _stack = new List<object?>();
                    break;
                case (byte)'c': // GLOBAL
                {
                    string module = ReadLine();
                    string name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    object? name = Pop();
                    object? module = Pop();
                    if (module is not string m || name is not string n)
                        throw Fail($"STACK_GLOBAL at byte {opcodePosition} expects two strings");
                    Push(ResolveGlobal(m, n));
                    break;
                }
                case (byte)'Q': // BINPERSID
                {
                    object? pid = Pop();
                    if (_persistentLoad is null)
                        throw Fail($"unexpected persistent id at byte {opcodePosition}; this pickle must not reference external data");
                    if (pid is not object?[] tuple)
                        throw Fail($"persistent id at byte {opcodePosition} is {Describe(pid)}, expected a tuple");
                    Push(_persistentLoad(tuple));
                    break;
                }
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: // LONG1: little-endian two's complement of the given length
                {
                    var value = new BigInteger(ReadBytes(ReadByte()), isUnsigned: false, isBigEndian: false);
                    Push(value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value);
                    break;
                }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'X': Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // BINUNICODE
                case 0x8c: Push(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadUtf8(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))); break; // BINUNICODE8
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte(), opcodePosition)); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), opcodePosition)); break; // LONG_BINGET
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: // TUPLE2
                {
                    object? b = Pop(), a = Pop();
                    Push(new[] { a, b });
                    break;
                }
                case 0x87: // TUPLE3
                {
                    object? c = Pop(), b = Pop(), a = Pop();
                    Push(new[] { a, b, c });
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    object? args = Pop();
                    object? callable = Pop();
                    Push(Reduce(callable, args, opcodePosition));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    object? state = Pop();
                    // torch attaches the module version table to a state dict as OrderedDict._metadata;
                    // it is bookkeeping for load_state_dict, so it is dropped.
                    if (Peek() is not OrderedDictionary<object, object?>)
                        throw Fail($"BUILD at byte {opcodePosition} sets state {Describe(state)} on {Describe(Peek())}; only dicts may carry state");
                    break;
                }
                case (byte)'s': // SETITEM
                {
                    object? value = Pop();
                    object? key = Pop();
                    SetItem(Peek(), key, value, opcodePosition);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    List<object?> items = PopMark();
                    if (items.Count % 2 != 0) throw Fail($"SETITEMS at byte {opcodePosition} has an odd number of items");
                    object? dict = Peek();
                    for (int i = 0; i < items.Count; i += 2) SetItem(dict, items[i], items[i + 1], opcodePosition);
                    break;
                }
                case (byte)'N': Push(null); break; // NONE
                case 0x89: Push(false); break; // NEWFALSE
                case 0x88: Push(true); break; // NEWTRUE
                case (byte)'.': // STOP
                    if (_metaStack.Count != 0 || _stack.Count != 1)
                        throw Fail($"malformed pickle: STOP at byte {opcodePosition} with {_stack.Count} values and {_metaStack.Count} open marks on the stack");
                    return _stack[0];
                default:
                    throw Fail(
                        $"refusing to load: unsupported pickle opcode 0x{op:x2} ({OpcodeName(op)}) at byte {opcodePosition}; " +
                        "only plain tensor state dicts are supported",
                        "re-save the weights with torch.save(model.state_dict(), path), or convert them to .safetensors");
            }
        }
    }

    private PickleGlobal ResolveGlobal(string module, string name) =>
        PickleGlobal.TryResolve(module, name) ?? throw Fail(
            $"refusing to load: the pickle references global '{module}.{name}'; only plain tensor state dicts are supported",
            "re-save the weights with torch.save(model.state_dict(), path) (plain tensors, no Parameters or custom objects), or convert them to .safetensors");

    private object Reduce(object? callable, object? args, long position)
    {
        if (args is not object?[] a) throw Fail($"REDUCE at byte {position} has arguments {Describe(args)}, expected a tuple");
        if (ReferenceEquals(callable, PickleGlobal.OrderedDict))
        {
            if (a.Length != 0) throw Fail($"OrderedDict(...) at byte {position} has arguments; only OrderedDict() is supported");
            return new OrderedDictionary<object, object?>();
        }
        if (ReferenceEquals(callable, PickleGlobal.RebuildTensorV2)) return RebuildTensor(a, position);
        throw Fail($"refusing to load: REDUCE at byte {position} calls {Describe(callable)}; only OrderedDict() and _rebuild_tensor_v2 are supported");
    }

    // torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    private StoredTensor RebuildTensor(object?[] a, long position)
    {
        string at = $"_rebuild_tensor_v2 at byte {position}";
        if (a.Length is not (6 or 7)) throw Fail($"{at} has {a.Length} arguments, expected 6 or 7");
        if (a[0] is not StoredStorage storage) throw Fail($"{at}: first argument is {Describe(a[0])}, expected a storage");
        if (a[1] is not long offset) throw Fail($"{at}: storage offset is {Describe(a[1])}, expected an int");
        long[] shape = LongTuple(a[2], at, "size");
        long[] strides = LongTuple(a[3], at, "stride");
        if (a[4] is not bool) throw Fail($"{at}: requires_grad is {Describe(a[4])}, expected a bool");
        if (a[5] is not OrderedDictionary<object, object?> { Count: 0 })
            throw Fail($"{at}: backward hooks are {Describe(a[5])}; tensors with hooks are not supported");
        // Metadata carries Python-level tensor attributes; a plain tensor has none, and silently
        // dropping some could change what the tensor means.
        if (a.Length == 7 && a[6] is not (null or OrderedDictionary<object, object?> { Count: 0 }))
            throw Fail($"{at}: tensor metadata {Describe(a[6])} is not supported");
        return new StoredTensor(storage.DType, shape, strides, offset, storage);
    }

    private long[] LongTuple(object? value, string at, string what)
    {
        if (value is not object?[] items) throw Fail($"{at}: {what} is {Describe(value)}, expected a tuple of ints");
        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            result[i] = items[i] as long? ?? throw Fail($"{at}: {what} contains {Describe(items[i])}, expected ints");
        return result;
    }

    private void SetItem(object? dict, object? key, object? value, long position)
    {
        if (dict is not OrderedDictionary<object, object?> d) throw Fail($"SETITEM at byte {position} on {Describe(dict)}, expected a dict");
        if (key is not (string or long or bool)) throw Fail($"dict key {Describe(key)} at byte {position} is not supported; keys must be str or int");
        d[key] = value; // like Python: a repeated key keeps its first position and takes the last value
    }

    private object? MemoGet(long index, long position) =>
        _memo.TryGetValue(index, out object? value) ? value : throw Fail($"memo entry {index} read at byte {position} was never stored");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek() =>
        _stack.Count > 0 ? _stack[^1] : throw Fail($"malformed pickle: stack underflow at byte {_position - 1}");

    private object? Pop()
    {
        object? value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopMark()
    {
        if (_metaStack.Count == 0) throw Fail($"malformed pickle: no MARK before byte {_position - 1}");
        List<object?> items = _stack;
        _stack = _metaStack.Pop();
        return items;
    }

    private List<object?> AsList(object? value, string op) =>
        value as List<object?> ?? throw Fail($"{op} at byte {_position - 1} on {Describe(value)}, expected a list");

    private byte ReadByte()
    {
        int b = _stream.ReadByte();
        if (b < 0) throw Truncated();
        _position++;
        return (byte)b;
    }

    private byte[] ReadBytes(long count)
    {
        // Refuse lengths the stream cannot possibly hold before allocating (a corrupt length field
        // would otherwise ask for gigabytes).
        if (count > int.MaxValue || (_stream.CanSeek && count > _stream.Length - _stream.Position)) throw Truncated();
        var buffer = new byte[count];
        try
        {
            _stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Truncated();
        }
        _position += count;
        return buffer;
    }

    private string ReadUtf8(ulong length)
    {
        if (length > int.MaxValue) throw Truncated();
        long at = _position;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes((long)length));
        }
        catch (DecoderFallbackException)
        {
            throw Fail($"invalid UTF-8 in string at byte {at}");
        }
    }

    // GLOBAL's arguments are newline-terminated; real module/attribute names are short, so cap the
    // length rather than scanning an arbitrary file for a newline.
    private string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') return Encoding.UTF8.GetString(bytes.ToArray());
            if (bytes.Count >= 512) throw Fail($"GLOBAL name longer than 512 bytes near byte {_position}");
            bytes.Add(b);
        }
    }

    private CheckpointException Truncated() => Fail(
        $"file is truncated or corrupted: the pickle ends unexpectedly at byte {_position}",
        "re-download or re-save the checkpoint");

    private CheckpointException Fail(string problem, string? fix = null) =>
        new(_path, _what.Length == 0 ? problem : $"{problem} (in {_what})", fix);

    /// <summary>A short Python-flavoured description of a value, for error messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long or BigInteger => $"an int ({value})",
        double d => $"a float ({d.ToString(System.Globalization.CultureInfo.InvariantCulture)})",
        string s => $"a str ('{(s.Length > 40 ? s[..40] + "..." : s)}')",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> l => $"a list of {l.Count}",
        OrderedDictionary<object, object?> d => $"a dict of {d.Count}",
        StoredTensor t => $"a {t.DType} tensor",
        StoredStorage s => $"a {s.DType} storage",
        PickleGlobal g => $"'{g.QualifiedName}'",
        _ => value.GetType().Name,
    };

    private static string OpcodeName(byte op) => op switch
    {
        0x28 => "MARK", 0x2e => "STOP", 0x30 => "POP", 0x31 => "POP_MARK", 0x32 => "DUP",
        0x46 => "FLOAT", 0x49 => "INT", 0x4a => "BININT", 0x4b => "BININT1", 0x4c => "LONG",
        0x4d => "BININT2", 0x4e => "NONE", 0x50 => "PERSID", 0x51 => "BINPERSID", 0x52 => "REDUCE",
        0x53 => "STRING", 0x54 => "BINSTRING", 0x55 => "SHORT_BINSTRING", 0x56 => "UNICODE",
        0x58 => "BINUNICODE", 0x61 => "APPEND", 0x62 => "BUILD", 0x63 => "GLOBAL", 0x64 => "DICT",
        0x7d => "EMPTY_DICT", 0x65 => "APPENDS", 0x67 => "GET", 0x68 => "BINGET", 0x69 => "INST",
        0x6a => "LONG_BINGET", 0x6c => "LIST", 0x5d => "EMPTY_LIST", 0x6f => "OBJ", 0x70 => "PUT",
        0x71 => "BINPUT", 0x72 => "LONG_BINPUT", 0x73 => "SETITEM", 0x74 => "TUPLE",
        0x29 => "EMPTY_TUPLE", 0x75 => "SETITEMS", 0x47 => "BINFLOAT", 0x80 => "PROTO",
        0x81 => "NEWOBJ", 0x82 => "EXT1", 0x83 => "EXT2", 0x84 => "EXT4", 0x85 => "TUPLE1",
        0x86 => "TUPLE2", 0x87 => "TUPLE3", 0x88 => "NEWTRUE", 0x89 => "NEWFALSE", 0x8a => "LONG1",
        0x8b => "LONG4", 0x42 => "BINBYTES", 0x43 => "SHORT_BINBYTES", 0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8", 0x8e => "BINBYTES8", 0x8f => "EMPTY_SET", 0x90 => "ADDITEMS",
        0x91 => "FROZENSET", 0x92 => "NEWOBJ_EX", 0x93 => "STACK_GLOBAL", 0x94 => "MEMOIZE",
        0x95 => "FRAME", 0x96 => "BYTEARRAY8", 0x97 => "NEXT_BUFFER", 0x98 => "READONLY_BUFFER",
        _ => "not a pickle opcode",
    };
}
