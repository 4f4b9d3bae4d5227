namespace Harness.Experiments;

/// <summary>An experiment spec problem, reported before any work starts, with file, line and the valid choices.</summary>
public sealed class SpecException(string message) : Exception(message);
