using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Harness.Metrics;

/// <summary>
/// The seeded generator behind every random choice a metric makes (class pairs, randomised weights), chosen because
/// it is a few lines to reproduce in any language: SplitMix64 (Steele, Lea and Flood, "Fast Splittable Pseudorandom
/// Number Generators", OOPSLA 2014) started from a stream named by a string, so a draw depends on (seed, name) only,
/// never on batching, process or run order. The independent references in tools/reference/ reimplement it.
/// </summary>
public static class SplitMix64
{
    /// <summary>
    /// The start state of stream <paramref name="name"/> under <paramref name="seed"/>: the first 8 bytes of
    /// SHA-256(UTF-8 of name) as a little-endian uint64, XOR the first SplitMix64 output of a generator seeded with
    /// <paramref name="seed"/>.
    /// </summary>
    public static ulong Stream(ulong seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), digest);
        var seedState = seed;
        return BinaryPrimitives.ReadUInt64LittleEndian(digest) ^ Next(ref seedState);
    }

    /// <summary>
    /// One step: state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z≫30)·0xBF58476D1CE4E5B9;
    /// z = (z ^ z≫27)·0x94D049BB133111EB; returns z ^ z≫31 (all mod 2⁶⁴).
    /// </summary>
    public static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// A uniform integer in [0, <paramref name="bound"/>) without modulo bias: outputs below 2⁶⁴ mod bound are
    /// rejected, which leaves a multiple of bound values, so output mod bound is uniform.
    /// </summary>
    public static ulong Uniform(ref ulong state, ulong bound)
    {
        var threshold = (0UL - bound) % bound; // 2⁶⁴ mod bound
        while (true)
        {
            var r = Next(ref state);
            if (r >= threshold) return r % bound;
        }
    }

    /// <summary>A uniform double in [0, 1) with 24 random bits (output ≫ 40, times 2⁻²⁴), exact in float32 and float64.</summary>
    public static double UnitFloat(ref ulong state) => (Next(ref state) >> 40) * (1.0 / (1 << 24));
}
