using Harness.Torch.Native;

namespace Harness.Torch;

/// <summary>
/// An independent random stream (torch.Generator). Pass one to the random factories so that results depend only on
/// its seed, not on what other threads draw from the global generator: grains running side by side in one silo
/// stay reproducible. A CPU generator seeded with s yields the same numbers as PyTorch's torch.Generator().manual_seed(s).
/// </summary>
public sealed class Generator : IDisposable
{
    private nint _handle;

    public Generator(ulong seed, Device? device = null)
    {
        NativeMethods.EnsureLoaded();
        NativeMethods.Check(NativeMethods.mt_generator_new(seed, (device ?? Device.CPU).ToString(), out _handle));
        Seed = seed;
        Device = device ?? Device.CPU;
    }

    public ulong Seed { get; }
    public Device Device { get; }

    internal nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(Generator));

    ~Generator() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        var h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) NativeMethods.mt_generator_free(h);
    }
}
