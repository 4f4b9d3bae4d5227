using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Data;
using Harness.Grains;
using Harness.Models;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.MipIn;

/// <summary>
/// MIP-IN on real data: MobileNetV2 (shipped checkpoint) at features.18, inverse trained on the first 100 sample
/// images and used on the other 100.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ImageNetMipInTests(ITestOutputHelper output)
{
    [Fact]
    public void MobileNetV2InverseGivesFiniteClassSpecificMapsAndIsSavedAndReloaded()
    {
        var dataset = ImageNetValDataset.LoadFolder(TestPaths.Repo("data", "imagenet-val-sample"));
        var weights = TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth");
        var card = ModelCard.TryLoadFor(weights)!;
        using var model = ModelZoo.Load("mobilenet_v2", weights);
        var train = dataset.Records.Take(100).ToList();
        var test = dataset.Records.Skip(100).Take(100).ToList();
        var directory = Path.Combine(Path.GetTempPath(), $"mipin-inverses-{Environment.ProcessId}");
        try
        {
            using var training = new MethodTraining(new TrainingSet(directory, ContentHash.OfFile(weights), train, card.Preprocess, Device.CPU, Log: output.WriteLine));
            // The session's MIP-IN store, made here so the test can read what it trained.
            var store = training.State(MipInTrainable.MethodName, set => new InverseStore(set));
            var method = AttributionMethods.Create("mipin", model, new Dictionary<string, string> { ["layer"] = "features.18" }, training);
            Assert.Equal(1, store.TrainedCount);
            var report = store.Reports.Values.Single();
            Assert.All(report.Where(r => r.Trained), r => Assert.True(r.FinalError < r.InitialError, $"{r.Stage}: {r.InitialError} → {r.FinalError}"));

            var issues = new List<DataIssue>();
            int nonConstant = 0, differing = 0, total = 0;
            for (var start = 0; start < test.Count; start += 25)
            {
                using var scope = torch.NewDisposeScope();
                var loaded = ImageBatchLoader.Load(test.Skip(start).Take(25).ToList(), card.Preprocess, Device.CPU, issues);
                var labels = loaded.Records.Select(r => (long)r.ClassIndex).ToArray();
                var others = labels.Select(l => (l + 500) % 1000).ToArray();
                using var first = new AttributionBatch(model, loaded.Images, labels);
                using var second = new AttributionBatch(model, loaded.Images, others);
                var a = method.Explain(first);
                var b = method.Explain(second);
                Assert.Equal(new long[] { labels.Length, 224, 224 }, a.shape);
                Assert.True(a.isfinite().all().item<bool>() && b.isfinite().all().item<bool>(), "maps must be finite");
                var spread = a.amax(new long[] { 1, 2 }) - a.amin(new long[] { 1, 2 });
                nonConstant += spread.gt(1e-6).sum().item<long>() is var n ? (int)n : 0;
                var change = (a - b).abs().amax(new long[] { 1, 2 });
                differing += change.gt(1e-6).sum().item<long>() is var m ? (int)m : 0;
                total += labels.Length;
            }
            output.WriteLine($"{total} maps: {nonConstant} not constant, {differing} differ between the two classes");
            Assert.Empty(issues);
            Assert.Equal(100, total);
            Assert.Equal(total, nonConstant);
            Assert.Equal(total, differing);

            // A second store with the same inputs loads the saved inverse instead of training again.
            using var trainingAgain = new MethodTraining(new TrainingSet(directory, ContentHash.OfFile(weights), train, card.Preprocess, Device.CPU));
            var again = trainingAgain.State(MipInTrainable.MethodName, set => new InverseStore(set));
            AttributionMethods.Create("mipin", model, new Dictionary<string, string> { ["layer"] = "features.18" }, trainingAgain);
            Assert.Equal(0, again.TrainedCount);

            // The saved file refuses to serve another configuration.
            var provenance = store.ProvenanceFor(model, "features.18", MipInTrainable.Parse("mobilenet_v2", new Dictionary<string, string> { ["layer"] = "features.18" }).Training);
            var path = store.PathFor(provenance);
            var e = Assert.Throws<StaleInverseException>(() => InverseNetworkFile.Load(path, model, provenance with { Seed = 7 }));
            Assert.Contains("seed is 0, this run needs 7", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }
}
