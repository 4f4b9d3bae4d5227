using System.Text.RegularExpressions;

namespace Harness.Tests.Bench;

/// <summary>
/// The GPU device check's package and dry run (docs/bench.md, "GPU (CUDA): the device check"). The device tool carries
/// at most 64 MiB: the tracked tree plus <c>.device/</c>. Nothing else notices when a new dependency or a new golden
/// file pushes the package over it (the Orleans dashboard and ASP.NET Core once did, silently, until a GPU session
/// would have found its check refused), so this runs <c>scripts/package-device.sh</c> as a user does (into a temporary
/// folder: a developer's <c>.device/</c> is left alone), reads the sizes it reports, looks inside the archive, runs the
/// packed <c>mipin</c>, and runs <c>scripts/device-check.sh --dry-run</c> on that package (every step on cpu at the
/// smallest sizes, with the shim built by the script's own commands). Serial: the publish and the shim build use both
/// cores.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DeviceCheckTests : IDisposable
{
    private const long DeviceToolLimit = 64L * 1024 * 1024;
    private readonly string _work = Directory.CreateTempSubdirectory("mipin-device-check-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void ThePackageFitsTheDeviceToolAndTheDryRunPassesEveryStep()
    {
        Skip.IfNot(File.Exists("/usr/bin/python3") && Directory.Exists("/usr/lib/x86_64-linux-gnu/cmake/Torch"),
            "needs python3 and Debian's libtorch CMake config (libtorch-dev; scripts/bootstrap.sh installs it)");
        var root = TestPaths.RepoRoot;
        Skip.If(TestProcess.Run("git", ["-C", root, "rev-parse", "HEAD"]).Code != 0, "needs a git checkout: the device tool carries its tracked files, which the package script measures");

        var package = Path.Combine(_work, "device");
        var pack = TestProcess.Run("bash", [Path.Combine(root, "scripts", "package-device.sh"), "--out", package], root, timeout: TimeSpan.FromMinutes(15));
        Assert.True(pack.Code == 0, pack.Output);
        var manifest = File.ReadAllText(Path.Combine(package, "manifest.txt"));
        var tree = Regex.Match(manifest, @"tree +(\d+) bytes tracked \+ (\d+) bytes in \.device/ = (\d+) of (\d+)");
        Assert.True(tree.Success, manifest);
        var (tracked, packed, total) = (long.Parse(tree.Groups[1].Value), long.Parse(tree.Groups[2].Value), long.Parse(tree.Groups[3].Value));
        Assert.Equal(tracked + packed, total);
        Assert.Equal(DeviceToolLimit, long.Parse(tree.Groups[4].Value));
        Assert.True(total <= DeviceToolLimit, $"{total} bytes to carry, over the device tool's {DeviceToolLimit}:\n{manifest}");
        // The archive's size as the script measured it is what travels: check it against the file itself.
        var archive = Path.Combine(package, "mipin.tar.xz");
        Assert.Contains($"mipin.tar.xz {new FileInfo(archive).Length} bytes", manifest);

        // What the package leaves out on purpose: the dashboard with ASP.NET Core, Roslyn and what it drags in, translated
        // messages, the debugger's libraries, and the shim built here against the CPU libtorch (the check builds its own).
        var listing = TestProcess.Run("tar", ["-tJf", archive], root).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("mipin/mipin", listing);
        Assert.Contains("mipin/mipin.dll", listing);
        foreach (var absent in new[] { "Orleans.Dashboard.dll", "Microsoft.AspNetCore.Server.Kestrel.Core.dll", "Microsoft.CodeAnalysis.dll",
                     "Microsoft.CodeAnalysis.Workspaces.dll", "Humanizer.dll", "System.Composition.Hosting.dll", "libmscordbi.so", "createdump",
                     "libmipin_torch.so" })
            Assert.DoesNotContain($"mipin/{absent}", listing);
        Assert.DoesNotContain(listing, f => f.EndsWith(".resources.dll", StringComparison.Ordinal));

        // The packed mipin starts without the files left out, and refuses the dashboard it lacks with the fix.
        var unpack = TestProcess.Run("tar", ["-C", _work, "-xJf", archive], root);
        Assert.True(unpack.Code == 0, unpack.Output);
        var help = TestProcess.Run(Path.Combine(_work, "mipin", "mipin"), ["--help"], _work);
        Assert.True(help.Code == 0, help.Output);
        Assert.Contains("faithfulness benchmarks", help.Stdout);
        // (Refused before Redis is asked: nothing listens on port 1, and a timeout stops the test should that change.)
        var dashboard = TestProcess.Run(Path.Combine(_work, "mipin", "mipin"), ["silo", "--cluster", "redis://127.0.0.1:1", "--dashboard", "8080"], _work,
            timeout: TimeSpan.FromMinutes(1));
        Assert.True(dashboard.Code != 0, dashboard.Output);
        Assert.Contains("built without the Orleans dashboard", dashboard.Stderr);
        Assert.Contains("./mipin silo", dashboard.Stderr);

        var results = Path.Combine(_work, "out");
        var dry = TestProcess.Run("bash", [Path.Combine(root, "scripts", "device-check.sh"), "--dry-run", "--package", package, "--out", results], root,
            timeout: TimeSpan.FromMinutes(15));
        var summary = File.Exists(Path.Combine(results, "summary.md")) ? File.ReadAllText(Path.Combine(results, "summary.md")) : "(no summary.md)";
        Assert.True(dry.Code == 0, dry.Output + "\n" + summary);
        Assert.Contains("device-check: all steps passed", dry.Stderr);
        foreach (var step in new[] { "build the shim", "mipin info", "mipin explain on cpu and cpu", "mipin bench on cpu", "quickstart on cpu and cpu" })
            Assert.Matches(@"\| " + Regex.Escape(step) + @"[^|]* \| ok \| [0-9.]+ \|", summary);
        Assert.Matches(@"\b[1-9][0-9]* leaderboard rows; 0 differ by more than 0\.01", summary);
    }
}
