using Harness.Client.Commands;

namespace Harness.Client.Engines;

/// <summary>The engines `mipin submit --engine` accepts.</summary>
public static class EngineRegistry
{
    public static IReadOnlyList<string> Names { get; } = new[] { "local", "slurm", "cluster" };

    public static IEngine Create(string name) => name switch
    {
        "local" => new LocalEngine(),
        "slurm" => new SlurmEngine(new SlurmCli()),
        "cluster" => new ClusterEngine(),
        _ => throw new CommandLineException($"unknown engine '{name}'; engines: {string.Join(", ", Names)}"),
    };
}
