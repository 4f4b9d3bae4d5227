using System.Runtime.InteropServices;

namespace Harness.Torch;

/// <summary>
/// How the process's C heap (glibc malloc, which libtorch's CPU allocator uses) treats freed tensor memory.
/// By default glibc serves every allocation above 32 MiB with its own mmap and unmaps it on free, and trims the heap
/// top, so a forward pass that frees and re-allocates the same large activations every batch page-faults (and the
/// kernel zeroes) all of that memory again each time. On the 2-core VM this was measured on, that cost more than the
/// convolutions: a MobileNetV2 no-grad forward at batch 8 took 635 ms with the default and 63 ms with freed memory kept
/// (docs/bench.md). <see cref="KeepFreedMemory"/> makes glibc keep freed memory for reuse, like PyTorch users get from
/// jemalloc/tcmalloc: steady-state RSS then stays at the high-water mark of the work instead of going up and down.
/// </summary>
public static partial class HostMemory
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_MAX = -4;

    /// <summary>Whether <see cref="KeepFreedMemory"/> took effect in this process.</summary>
    public static bool KeepsFreedMemory { get; private set; }

    /// <summary>
    /// Tells glibc to serve large blocks from its heap (no per-allocation mmap) and never to trim the heap, so freed
    /// tensor memory is reused. Returns false where the C library has no mallopt (not glibc); nothing changes then.
    /// Call once, early; it affects allocations made afterwards.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var ok = mallopt(M_MMAP_MAX, 0) == 1 & mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
            KeepsFreedMemory |= ok;
            return ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns the C heap's free memory to the OS (glibc malloc_trim), e.g. before measuring a new workload's own peak
    /// RSS. Returns false where there is no malloc_trim.
    /// </summary>
    public static bool ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            malloc_trim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
