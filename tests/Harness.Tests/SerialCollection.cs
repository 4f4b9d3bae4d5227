namespace Harness.Tests;

/// <summary>
/// Tests that must not run beside others: they measure process-wide quantities (resident memory), change process-wide
/// settings, or start processes that use both cores (clusters, publishes, native builds).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
