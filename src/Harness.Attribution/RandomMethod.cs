using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// The random baseline ("random"): map[i,j] ~ U[0, 1) independently per pixel. The chance level every score is
/// compared with (DESIGN §4: every leaderboard carries it). Option "seed" (default 0). The values come from a stream
/// seeded by (seed, the image's values, the target class), see <see cref="SeededStream"/>: repeatable, independent
/// of batching, order and sharding, different for two target classes of the same image (so class sensitivity sees
/// unrelated maps), and libtorch's global generator is not touched.
/// </summary>
public sealed class RandomMethod : IAttributionMethod
{
    public RandomMethod(ulong seed = 0) => Seed = seed;

    public string Name => "random";

    public ulong Seed { get; }

    public Tensor Explain(AttributionBatch batch)
    {
        var seeds = SeededStream.PerImageSeeds(Seed, batch.Images, batch.Targets);
        var pixels = (int)(batch.Height * batch.Width);
        var values = new float[seeds.Length * pixels];
        for (var b = 0; b < seeds.Length; b++)
        {
            var stream = new SeededStream(seeds[b]);
            stream.FillUniform(values.AsSpan(b * pixels, pixels));
        }
        return torch.tensor(values, new long[] { seeds.Length, batch.Height, batch.Width }, batch.Images.device);
    }
}
