using Harness.Grains;
using Harness.Silo;
using Harness.Torch;

namespace Harness.Tests.Cluster;

/// <summary>A grain's reported peak memory is its own, not what earlier grains left in the C heap.</summary>
[Collection(SerialCollection.Name)]
public sealed class GrainRunnerTests
{
    private sealed class IdleGrain : IWorkGrain
    {
        public string Key => "score/idle/0000";
        public IReadOnlyList<string> DependsOn => Array.Empty<string>();
        public int Images => 1;
        public bool IsDone() => false;
        public string DoneFile => "";
        public void Execute(GrainContext context) { }
    }

    [SkippableFact]
    public void PeakRssStartsFromAReleasedBaseline()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && HostMemory.KeepFreedMemory(), "needs glibc's mallopt/malloc_trim and /proc (Linux)");
        // An earlier "grain" frees 512 MiB; the silo's allocator setting keeps it in the C heap (still resident).
        var baseline = ProcessMemory.ResidentBytes() / (1024.0 * 1024.0);
        // Marshal.AllocHGlobal is malloc on Linux; 512 blocks of 1 MiB, touched so they are resident, then freed. A small
        // "pin" allocated after each block stays allocated until the end: on a thread arena glibc would otherwise give a
        // wholly free heap back to the OS by itself, and there would be nothing left for the release to return.
        var blocks = new List<IntPtr>();
        var pins = new List<IntPtr>();
        for (var i = 0; i < 512; i++)
        {
            var block = System.Runtime.InteropServices.Marshal.AllocHGlobal(1 << 20);
            unsafe { new Span<byte>((void*)block, 1 << 20).Fill(1); }
            blocks.Add(block);
            pins.Add(System.Runtime.InteropServices.Marshal.AllocHGlobal(64));
        }
        foreach (var block in blocks) System.Runtime.InteropServices.Marshal.FreeHGlobal(block);
        var residentBefore = ProcessMemory.ResidentBytes() / (1024.0 * 1024.0);
        var kept = residentBefore - baseline; // glibc returns whole free thread-arena heaps itself; the rest stays
        if (kept < 32) foreach (var pin in pins) System.Runtime.InteropServices.Marshal.FreeHGlobal(pin);
        Skip.If(kept < 32, $"the C library returned the freed memory itself ({kept:F0} MiB kept), so there is nothing to release");
        var directory = Path.Combine(Path.GetTempPath(), $"mipin-grain-stats-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using var context = new GrainContext(Device.CPU, _ => { }, CancellationToken.None);
            new GrainRunner("local", directory).Execute(new IdleGrain(), context);
            var stats = GrainStats.ReadAll(directory).Single();
            // Without releasing first, the reset peak is the resident size including the freed memory still kept.
            Assert.True(stats.PeakRssMb <= baseline + kept / 2,
                $"idle grain reported {stats.PeakRssMb:F0} MiB peak; {baseline:F0} MiB before the earlier work, {residentBefore:F0} MiB after it freed its memory");
        }
        finally
        {
            foreach (var pin in pins) System.Runtime.InteropServices.Marshal.FreeHGlobal(pin);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}
