namespace Harness.Grains;

/// <summary>
/// A unit of work with a stable identity key, a content hash of its inputs and an idempotent output written
/// atomically. A grain whose output exists with the same input hash is done and is skipped on rerun.
/// </summary>
public interface IWorkGrain
{
    /// <summary>Identity, e.g. "train/mobilenet_v2@coral/features.18", "score/mobilenet_v2@coral/0003", "aggregate/quickstart".</summary>
    string Key { get; }

    /// <summary>The stage the grain belongs to: the first part of its key ("train", "score", "aggregate").</summary>
    string Stage => Key[..Key.IndexOf('/')];

    /// <summary>Keys of grains that must finish first.</summary>
    IReadOnlyList<string> DependsOn { get; }

    /// <summary>Number of images this grain processes (for progress and throughput).</summary>
    int Images { get; }

    /// <summary>True when the output exists and was made from the same inputs.</summary>
    bool IsDone();

    /// <summary>
    /// The file written last when the grain finishes (a shard's marker, a trained state, the leaderboard). The run
    /// manifest records it at submit, so `mipin status` trusts its presence without re-planning or stat-ing inputs;
    /// `mipin verify` is the full re-check.
    /// </summary>
    string DoneFile { get; }

    /// <summary>Does the work and writes the output atomically.</summary>
    void Execute(GrainContext context);
}
