namespace Harness.Client;

/// <summary>A usage problem the user can fix (a missing or malformed option); printed without a stack trace.</summary>
public sealed class CommandLineException(string message) : Exception(message);
