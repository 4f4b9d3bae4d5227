using Harness.Experiments;
using Harness.Experiments.Statistics;

namespace Harness.Tests.Experiments;

/// <summary>
/// A run over a damaged copy of six sample images: every broken image is a counted skip with its reason in
/// images.csv and in the leaderboard's <c>skipped</c> column, whether the dataset refused it (unknown synset, box
/// outside the image: "data:") or decoding did (truncated JPEG: "image:"); the intact images are scored as usual.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BrokenDataRunTests : IDisposable
{
    private readonly TempExperiment _experiment = new();

    public void Dispose() => _experiment.Dispose();

    [Fact]
    public void BrokenImagesAreCountedInImagesCsvAndTheLeaderboard()
    {
        var (root, ids) = _experiment.CopySample(6);
        string Xml(int k) => Path.Combine(root, "boxes", ids[k] + ".xml");
        var wnid = System.Xml.Linq.XDocument.Load(Xml(0)).Descendants("name").First().Value;
        File.WriteAllText(Xml(0), File.ReadAllText(Xml(0)).Replace(wnid, "n00000001")); // unknown synset
        var jpeg = Path.Combine(root, "images", ids[2] + ".JPEG");
        File.WriteAllBytes(jpeg, File.ReadAllBytes(jpeg)[..3000]); // truncated
        var xml4 = System.Xml.Linq.XDocument.Load(Xml(4));
        xml4.Descendants("xmax").First().Value = "5000"; // box past the stated size
        xml4.Save(Xml(4));

        var spec = _experiment.WriteSpec("broken", """
            methods: [center, random]
            metrics: [pointing_game, energy_pointing_game]
            shard_size: 10
            batch_size: 4
            report: { reference_method: center }
            """);
        TempExperiment.Run(spec, $"dataset.root={root}");

        var run = Path.Combine(_experiment.Directory, "results", "broken");
        var rows = ImageRow.Read(Path.Combine(run, "images.csv"), ["pointing_game", "energy_pointing_game"]);
        Assert.Equal(6 * 2, rows.Count);
        foreach (var method in new[] { "center", "random" })
        {
            var of = rows.Where(r => r.Method == method).ToDictionary(r => r.ImageId);
            Assert.StartsWith("data:", of[ids[0]].Skipped);
            Assert.Contains("n00000001", of[ids[0]].Skipped);
            Assert.StartsWith("image:", of[ids[2]].Skipped);
            Assert.Contains("truncated JPEG", of[ids[2]].Skipped);
            Assert.StartsWith("data:", of[ids[4]].Skipped);
            Assert.Contains("lies outside", of[ids[4]].Skipped);
            foreach (var k in new[] { 1, 3, 5 })
                Assert.True(of[ids[k]].Values["pointing_game"].HasValue, $"{method} {ids[k]} should be scored");
        }
        var board = File.ReadAllLines(Path.Combine(run, "leaderboard.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(4, board.Count);
        Assert.All(board, f => Assert.Equal(("3", "3"), (f[8], f[9]))); // n = 3 scored, 3 skipped per method and metric

        // random against center on the three images both scored, once per metric.
        var comparisons = File.ReadAllLines(Path.Combine(run, "comparisons.csv"));
        Assert.Equal(string.Join(",", PairedComparisons.Columns), comparisons[0]);
        Assert.Equal(["pointing_game", "energy_pointing_game"], comparisons.Skip(1).Select(l => l.Split(',')[1]));
        Assert.All(comparisons.Skip(1), l => Assert.Equal(("random", "center", "3"), (l.Split(',')[2], l.Split(',')[3], l.Split(',')[4])));
    }
}
