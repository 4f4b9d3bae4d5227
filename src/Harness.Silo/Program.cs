namespace Harness.Silo;

/// <summary>
/// Standalone silo process (used by cluster engines; local runs embed <see cref="SiloService"/> in the client).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("mipin-silo: the standalone silo is started by `mipin submit --engine slurm` (not yet available); " +
                                "for local runs use `mipin run CONFIG`, which embeds the silo.");
        return 2;
    }
}
