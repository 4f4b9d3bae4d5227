using System.Buffers.Binary;
using CsCheck;

namespace Harness.Tests.Fuzzing;

/// <summary>
/// One edit of an input file, as a fuzzer makes it. Positions are raw generated integers, reduced modulo the length of
/// the input the edit is applied to, so a mutation stays valid whatever the earlier edits of the same case did to the
/// length. <see cref="Focus"/> aims an edit at the file's structural prefix (JPEG markers, the safetensors header, the
/// pickle): corrupting entropy-coded image data or raw tensor bytes exercises little, corrupting a length field a lot.
/// </summary>
public abstract record Mutation
{
    /// <summary>Whether the position falls within the focus prefix (see <see cref="Apply"/>) instead of the whole input.</summary>
    public bool Focus { get; init; }

    /// <summary>The edited copy; <paramref name="input"/> is never modified.</summary>
    /// <param name="focusLength">Length of the structural prefix that <see cref="Focus"/> edits aim at.</param>
    public abstract byte[] Apply(byte[] input, int focusLength);

    /// <summary>A position in [0, length) (0 for an empty input).</summary>
    protected int At(int raw, int inputLength, int focusLength)
    {
        var range = Focus ? Math.Clamp(focusLength, 1, Math.Max(inputLength, 1)) : inputLength;
        return range == 0 ? 0 : (int)((uint)raw % (uint)range);
    }

    protected string Where => Focus ? "head " : "";
}

/// <summary>Flips one bit.</summary>
public sealed record BitFlip(int Position, int Bit) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var output = (byte[])input.Clone();
        if (output.Length > 0) output[At(Position, input.Length, focusLength)] ^= (byte)(1 << Bit);
        return output;
    }

    public override string ToString() => $"flip bit {Bit} at {Where}{Position}";
}

/// <summary>Overwrites one byte (0x00, 0xFF, 0x7F, 0x80 and other boundary values are the interesting ones).</summary>
public sealed record SetByte(int Position, byte Value) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var output = (byte[])input.Clone();
        if (output.Length > 0) output[At(Position, input.Length, focusLength)] = Value;
        return output;
    }

    public override string ToString() => $"set byte at {Where}{Position} to 0x{Value:X2}";
}

/// <summary>Overwrites 1, 2, 4 or 8 bytes with an integer: a length or count field gets a boundary value.</summary>
public sealed record SetInteger(int Position, int Width, ulong Value, bool BigEndian) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var output = (byte[])input.Clone();
        if (output.Length == 0) return output;
        Span<byte> bytes = stackalloc byte[8];
        if (BigEndian) BinaryPrimitives.WriteUInt64BigEndian(bytes, Value << (8 * (8 - Width)));
        else BinaryPrimitives.WriteUInt64LittleEndian(bytes, Value);
        var at = At(Position, input.Length, focusLength);
        var count = Math.Min(Width, output.Length - at);
        bytes[..count].CopyTo(output.AsSpan(at));
        return output;
    }

    public override string ToString() => $"write {Width}-byte {(BigEndian ? "BE" : "LE")} 0x{Value:X} at {Where}{Position}";
}

/// <summary>Cuts the input off (the first Length mod input-length bytes remain).</summary>
public sealed record Truncate(int Length) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength) => input[..At(Length, input.Length, focusLength)];

    public override string ToString() => $"truncate to {Where}{Length}";
}

/// <summary>Removes a chunk.</summary>
public sealed record DeleteChunk(int Position, int Count) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var at = At(Position, input.Length, focusLength);
        var count = Math.Min(Count, input.Length - at);
        return [.. input.AsSpan(0, at), .. input.AsSpan(at + count)];
    }

    public override string ToString() => $"delete {Count} bytes at {Where}{Position}";
}

/// <summary>Copies a chunk and inserts the copy elsewhere (a repeated segment, table or storage).</summary>
public sealed record DuplicateChunk(int Position, int Count, int InsertAt) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var at = At(Position, input.Length, focusLength);
        var chunk = input.AsSpan(at, Math.Min(Count, input.Length - at));
        var insert = At(InsertAt, input.Length + 1, focusLength + 1);
        return [.. input.AsSpan(0, insert), .. chunk, .. input.AsSpan(insert)];
    }

    public override string ToString() => $"duplicate {Count} bytes from {Where}{Position} at {InsertAt}";
}

/// <summary>Inserts bytes (a stray marker, opcode or boundary value).</summary>
public sealed record InsertBytes(int Position, byte[] Bytes) : Mutation
{
    public override byte[] Apply(byte[] input, int focusLength)
    {
        var at = At(Position, input.Length + 1, focusLength + 1);
        return [.. input.AsSpan(0, at), .. Bytes, .. input.AsSpan(at)];
    }

    public override string ToString() => $"insert {Convert.ToHexString(Bytes)} at {Where}{Position}";
}

/// <summary>CsCheck generators of <see cref="Mutation"/>s; the boundary values are what catches off-by-one and overflow bugs.</summary>
public static class Mutations
{
    /// <summary>Bytes that mark boundaries: zero, all ones, the sign bit, and the JPEG marker prefix.</summary>
    public static readonly Gen<byte> InterestingByte =
        Gen.Frequency((3, Gen.OneOf<byte>(0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE)), (1, Gen.Byte));

    /// <summary>Integers for length and count fields: zero, one, signed and unsigned limits of each width, and random values.</summary>
    public static readonly Gen<ulong> InterestingInteger = Gen.Frequency(
        (4, Gen.OneOf<ulong>(0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF,
            0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue,
            100_000_000, 100_000_001)),
        (1, Gen.ULong[0, 1 << 16]),
        (1, Gen.ULong));

    private static readonly Gen<int> AnyPosition = Gen.Int[0, int.MaxValue];
    private static readonly Gen<int> ChunkLength = Gen.Frequency((3, Gen.Int[1, 16]), (1, Gen.Int[1, 4096]));

    /// <summary>
    /// Any of the byte-level mutations; <paramref name="focusShare"/> of them (in quarters) aim at the structural prefix.
    /// </summary>
    public static Gen<Mutation> Any(int focusShare = 2) => Gen.Select(
        Gen.Frequency(
            (4, Gen.Select(AnyPosition, Gen.Int[0, 7], (p, b) => (Mutation)new BitFlip(p, b))),
            (3, Gen.Select(AnyPosition, InterestingByte, (p, v) => (Mutation)new SetByte(p, v))),
            (3, Gen.Select(AnyPosition, Gen.OneOf(1, 2, 4, 8), InterestingInteger, Gen.Bool,
                (p, w, v, be) => (Mutation)new SetInteger(p, w, v, be))),
            (1, AnyPosition.Select(l => (Mutation)new Truncate(l))),
            (1, Gen.Select(AnyPosition, ChunkLength, (p, n) => (Mutation)new DeleteChunk(p, n))),
            (1, Gen.Select(AnyPosition, ChunkLength, AnyPosition, (p, n, i) => (Mutation)new DuplicateChunk(p, n, i))),
            (1, Gen.Select(AnyPosition, InterestingByte.Array[1, 8], (p, b) => (Mutation)new InsertBytes(p, b)))),
        Gen.Int[0, 3],
        (m, quarter) => m with { Focus = quarter < focusShare });

    /// <summary>Applies the mutations in order.</summary>
    public static byte[] ApplyAll(byte[] input, IEnumerable<Mutation> mutations, int focusLength)
    {
        foreach (var mutation in mutations) input = mutation.Apply(input, focusLength);
        return input;
    }

    public static string Describe(IEnumerable<Mutation> mutations) => string.Join("; ", mutations);
}
