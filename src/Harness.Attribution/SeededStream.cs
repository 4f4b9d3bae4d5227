using System.Buffers.Binary;
using System.Numerics;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// A small deterministic random stream (SplitMix64, Steele et al. 2014) for the stochastic methods (SmoothGrad's
/// noise, the random baseline), one per image. Numbers are drawn in .NET and copied to the device rather than taken
/// from libtorch: its global generator (torch.manual_seed) would reset every other user's stream in the process and
/// race with concurrent grains, and its CPU and CUDA generators give different numbers for the same seed, while this
/// stream gives the same maps on every device and thread.
/// </summary>
internal struct SeededStream
{
    private ulong _state;

    public SeededStream(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform float32 values in [0, 1) (24 random bits each, so exactly representable and never 1).</summary>
    public void FillUniform(Span<float> values)
    {
        for (var i = 0; i < values.Length; i++) values[i] = (NextUInt64() >> 40) * (1.0f / (1 << 24));
    }

    /// <summary>Standard normal float32 values (Box–Muller on 53-bit uniforms).</summary>
    public void FillNormal(Span<float> values)
    {
        const double twoPi = 2 * Math.PI;
        const double unit = 1.0 / (1UL << 53);
        for (var i = 0; i < values.Length; i += 2)
        {
            var u1 = ((NextUInt64() >> 11) + 1) * unit; // (0, 1]: log is finite
            var u2 = (NextUInt64() >> 11) * unit;
            var r = Math.Sqrt(-2 * Math.Log(u1));
            values[i] = (float)(r * Math.Cos(twoPi * u2));
            if (i + 1 < values.Length) values[i + 1] = (float)(r * Math.Sin(twoPi * u2));
        }
    }

    /// <summary>Mixes values into one well-spread 64-bit seed.</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        var s = new SeededStream(a ^ (b * 0xD6E8FEB86659FD93UL));
        s.NextUInt64();
        return s.NextUInt64();
    }

    /// <summary>
    /// One seed per image of a B×C×H×W batch, a function of <paramref name="seed"/>, the image's values (a 64-bit
    /// hash of its float32 bytes) and, when given, its target class. So a map depends only on (seed, image,
    /// target) — not on the batch size, the image's position, how a run is sharded, or how often the method ran.
    /// </summary>
    public static ulong[] PerImageSeeds(ulong seed, Tensor images, long[]? targets)
    {
        using var scope = torch.NewDisposeScope();
        var batch = (int)images.size(0);
        var bytes = images.detach().to(Device.CPU, ScalarType.Float32).contiguous().ToBytes();
        var per = bytes.Length / Math.Max(batch, 1);
        var seeds = new ulong[batch];
        for (var b = 0; b < batch; b++)
        {
            var h = Hash(bytes.AsSpan(b * per, per));
            var s = Mix(seed, h);
            if (targets is not null) s = Mix(s, (ulong)targets[b] + 1);
            seeds[b] = s;
        }
        return seeds;
    }

    // FNV-1a-style over 64-bit words (with a rotation so high bits reach low ones), then the tail bytes, finished
    // with a SplitMix step.
    private static ulong Hash(ReadOnlySpan<byte> data)
    {
        const ulong prime = 0x100000001B3UL;
        var h = 0xCBF29CE484222325UL;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
            h = BitOperations.RotateLeft((h ^ BinaryPrimitives.ReadUInt64LittleEndian(data[i..])) * prime, 27);
        for (; i < data.Length; i++) h = (h ^ data[i]) * prime;
        return Mix(h, (ulong)data.Length);
    }
}
