namespace Harness.Silo;

/// <summary>Progress of a run: grains finished (done or skipped) out of all, images scored, elapsed time.</summary>
public sealed record SiloProgress(int Done, int Total, int Skipped, long Images, TimeSpan Elapsed, string LastGrain)
{
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Images / Elapsed.TotalSeconds : 0;
}
