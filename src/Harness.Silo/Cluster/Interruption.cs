using System.Runtime.InteropServices;

namespace Harness.Silo.Cluster;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM (kill, Slurm's cancel) as a cancellation token, instead of the default of ending the
/// process: a run stops scheduling and lets the grains in flight finish (their outputs are atomic), a silo leaves its
/// cluster cleanly. Dispose to restore the default handling.
/// </summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public Interruption()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _source.Token;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _source.Dispose();
    }
}
