using Harness.Bench;
using Harness.Torch;

namespace Harness.Tests.Bench;

/// <summary>
/// The generated sections of docs/bench.md (<see cref="BenchDoc"/>): replacing text between markers, the GFLOP/s
/// arithmetic of the "distance from the limit" table checked by hand, and the FLOP counts of tools/reference/bench.py
/// against torchvision's published figures.
/// </summary>
public sealed class BenchDocTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "mipin-benchdoc-" + Guid.NewGuid().ToString("N") + ".md");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void ReplacesOnlyTheTextBetweenItsMarkers()
    {
        File.WriteAllText(_path, "# Title\nprose\n<!-- generated:headline begin -->\nold table\n<!-- generated:headline end -->\nmore prose\n" +
                                 "<!-- generated:limit begin -->\nold limit\n<!-- generated:limit end -->\n");
        BenchDoc.Replace(_path, BenchDoc.Headline, "new table\n");
        Assert.Equal("# Title\nprose\n<!-- generated:headline begin -->\nnew table\n<!-- generated:headline end -->\nmore prose\n" +
                     "<!-- generated:limit begin -->\nold limit\n<!-- generated:limit end -->\n", File.ReadAllText(_path));
    }

    [Fact]
    public void AFileWithoutTheMarkersNamesTheFileAndTheFix()
    {
        File.WriteAllText(_path, "# no markers here\n");
        var e = Assert.Throws<InvalidDataException>(() => BenchDoc.Replace(_path, BenchDoc.Pipeline, "x"));
        Assert.Contains(_path, e.Message);
        Assert.Contains("'<!-- generated:pipeline begin -->' ... '<!-- generated:pipeline end -->'", e.Message);
        Assert.Contains("add the two lines", e.Message);
    }

    [SkippableFact]
    public void ProvenanceNamesTheCommitAndIgnoresOnlyTheDocsOwnChanges()
    {
        Skip.If(TestProcess.Run("git", new[] { "--version" }).Code != 0, "needs git");
        var repo = Path.Combine(Path.GetTempPath(), "mipin-benchdoc-repo-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(repo, "docs"));
        try
        {
            void Git(params string[] args)
            {
                var r = TestProcess.Run("git", new[] { "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org" }.Concat(args));
                Assert.True(r.Code == 0, r.Output);
            }
            var doc = Path.Combine(repo, "docs", "bench.md");
            File.WriteAllText(doc, "doc\n");
            File.WriteAllText(Path.Combine(repo, "code.cs"), "code\n");
            Git("init", "-q");
            Git("add", "-A");
            Git("commit", "-q", "-m", "first");
            var hash = TestProcess.Run("git", new[] { "-C", repo, "rev-parse", "--short", "HEAD" }).Stdout.Trim();

            // A section generated earlier into the doc (an unstaged change, " M docs/bench.md") is not a code change.
            File.WriteAllText(doc, "doc\nan earlier generated section\n");
            Assert.Contains($"at commit {hash}.", BenchDoc.Provenance(Array.Empty<string>(), doc));
            var atStart = BenchDoc.CommitOf(doc);
            File.WriteAllText(Path.Combine(repo, "code.cs"), "changed\n");
            Assert.Contains($"at commit {hash} with uncommitted changes.", BenchDoc.Provenance(Array.Empty<string>(), doc));
            // A run reports the commit it started from (the build it measured), whatever the checkout holds when it ends.
            Assert.Contains($"at commit {hash}.", BenchDoc.Provenance(Array.Empty<string>(), doc, atStart));
        }
        finally
        {
            foreach (var f in Directory.GetFiles(repo, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
            Directory.Delete(repo, recursive: true);
        }
    }

    [Fact]
    public void LimitTableTurnsImagesPerSecondIntoGigaFlopsAgainstBothPeaks()
    {
        // By hand: gradcam costs forward + the stages above layer k = 4.0 + 0.1 = 4.1 GFLOP per image; 10 images/s is
        // 41 GFLOP/s, 50% of an 82 GFLOP/s kernel peak and 25% of a 164 GFLOP/s nominal one. The tuned side at
        // 5 images/s is 20.5 GFLOP/s. Gradient costs 2 × 4.0 = 8 GFLOP per image: 2 images/s is 16 GFLOP/s.
        var cpu = Device.CPU;
        var rows = new[]
        {
            new BenchRow(new BenchCell("resnet50", BenchMethods.GradCam, 32, cpu), 2, new BenchMeasurement(10, 3.2, 3, null), new BenchMeasurement(5, 6.4, 3, null), ""),
            new BenchRow(new BenchCell("resnet50", BenchMethods.Gradient, 32, cpu), 2, new BenchMeasurement(2, 16, 3, null), null, ""),
            new BenchRow(new BenchCell("resnet50", BenchMethods.MipInTrain, 32, cpu), 2, new BenchMeasurement(2, 16, 3, null), null, ""),
        };
        var flops = new Dictionary<string, (double, double)> { ["resnet50"] = (4.0e9, 0.1e9) };
        var table = BenchDoc.LimitTable(rows, flops, new CpuPeak.Peak(82, "kernel"), new CpuPeak.Peak(164, "nominal"));
        Assert.Contains("| resnet50 | gradcam | 32 | 4.1 | 41.0 | 50% | 25% | 20.5 |", table);
        Assert.Contains("| resnet50 | gradient | 32 | 8 | 16.0 | 20% | 10% | - |", table);
        Assert.DoesNotContain("mipin-train", table); // its FLOPs depend on the training steps
    }

    [Fact]
    public void ThePeakIsTheHigherOfTheMeasurementsBeforeAndAfterTheRunAndNamesBoth()
    {
        var before = new CpuPeak.Peak(164.2, "kernel");
        var after = new CpuPeak.Peak(231.4, "kernel");
        var best = CpuPeak.Best(before, after);
        Assert.Equal(231.4, best.GigaFlops);
        Assert.Equal("kernel; the higher of two measurements, before the first cell and after the last: 164 and 231 GFLOP/s", best.How);
        Assert.Equal(231.4, CpuPeak.Best(after, before).GigaFlops);
    }

    /// <summary>torchvision's model docs list the multiply-accumulates of one 224×224 forward ("GFLOPS" there).</summary>
    [SkippableTheory]
    [InlineData("resnet50", 4.09)]
    [InlineData("mobilenet_v2", 0.30)]
    [InlineData("vgg19", 19.63)]
    public void BenchPyCountsTheFlopsTorchvisionPublishes(string model, double publishedGigaMacs)
    {
        Skip.If(!BenchCommandTests.PythonHasTorch(), "needs Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision)");
        using var child = PyTorchBaseline.TryStart("/usr/bin/python3", TestPaths.Repo("tools", "reference", "bench.py"), out var why, tuned: true);
        Assert.True(child is not null, why);
        var (forward, above) = child.ForwardFlops(model, 224);
        Assert.Equal(2 * publishedGigaMacs, forward / 1e9, 2 * publishedGigaMacs * 0.01); // within 1% (rounded figures)
        Assert.InRange(above, 1.0, forward * 0.01); // the classifier head above layer k is small
    }
}
