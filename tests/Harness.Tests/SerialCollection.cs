namespace Harness.Tests;

/// <summary>Tests that measure process-wide quantities (resident memory) and must not run beside others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
