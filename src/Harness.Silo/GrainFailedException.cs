namespace Harness.Silo;

/// <summary>A grain threw; the message names the grain, the cause is the inner exception.</summary>
public sealed class GrainFailedException(string grain, Exception inner) : Exception($"grain {grain} failed: {inner.Message}", inner)
{
    public string Grain { get; } = grain;
}
