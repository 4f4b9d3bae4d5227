using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Data;
using Harness.Metrics;
using Harness.Models;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.MipIn;

/// <summary>
/// The default MIP-IN against its independent PyTorch implementation (tools/reference/mipin.py, written from
/// docs/methods.md; golden file Golden/mipin_reference.safetensors): each side trains the inverse itself from the same
/// images and model, then explains. Maps agree within a relative difference of 1e-4 (max |a − b| / max |b|),
/// completeness and minimality within 0.01 (mean over the scored images and per image).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class MipInReferenceTests(ITestOutputHelper output) : IDisposable
{
    private readonly StateDict _golden = StateDict.Load(TestPaths.Fixture("Golden", "mipin_reference.safetensors"));

    public void Dispose() => _golden.Dispose();

    [Fact]
    public void MobileNetV2MapsCompletenessAndMinimalityMatchTheReference()
    {
        using var scope = torch.NewDisposeScope();
        var dataset = ImageNetValDataset.LoadFolder(TestPaths.Repo("data", "imagenet-val-sample"));
        var weights = TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth");
        var card = ModelCard.TryLoadFor(weights)!;
        using var model = ModelZoo.Load("mobilenet_v2", weights);
        var directory = Path.Combine(Path.GetTempPath(), $"mipin-reference-{Environment.ProcessId}");
        try
        {
            using var training = new MethodTraining(new TrainingSet(directory, ContentHash.OfFile(weights), dataset.Records.Take(100).ToList(),
                card.Preprocess, Device.CPU, BatchSize: 25, Log: output.WriteLine));
            var method = AttributionMethods.Create("mipin", model, new Dictionary<string, string> { ["layer"] = "features.18" }, training);
            var completeness = new List<double>();
            var minimality = new List<double>();
            var issues = new List<DataIssue>();
            for (var start = 100; start < 200; start += 25)
            {
                using var batchScope = torch.NewDisposeScope();
                var loaded = ImageBatchLoader.Load(dataset.Records.Skip(start).Take(25).ToList(), card.Preprocess, Device.CPU, issues);
                using var batch = new AttributionBatch(model, loaded.Images, loaded.Records.Select(r => (long)r.ClassIndex).ToArray());
                Collect(SourceSignalDiagnostics.Compute((ISourceSignalMethod)method, batch), completeness, minimality);
                if (start == 100)
                    AssertMapsMatch("imagenet", method.Explain(batch).narrow(0, 0, 4));
            }
            Assert.Empty(issues);
            AssertFiguresMatch("imagenet", completeness, minimality);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void MnistMlpMapsCompletenessAndMinimalityMatchTheReference()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new MnistMlp(10, 28 * 28, hidden1: 64, hidden2: 32);
        using (var state = new StateDict("mipin_reference mnist.mlp"))
        {
            foreach (var (key, value) in _golden.Where(p => p.Key.StartsWith("mnist.mlp.", StringComparison.Ordinal)))
                state.Add(key["mnist.mlp.".Length..], value.clone());
            model.load_state_dict(state, "the reference MLP");
        }
        model.eval();
        model.requires_grad_(false);
        var mnist = MnistDataset.Load(TestPaths.Repo("data", "mnist"));
        var settings = MipInTrainable.Parse("mnist_mlp", null); // the method's defaults
        var trainBatches = Enumerable.Range(0, 8).Select(b => mnist.ImagesTensor(b * 64, 64, normalize: true)).ToList();
        using var network = MipInTrainer.Train(model, settings.Layer, trainBatches, settings.Training).Network;
        var method = new MipInMethod(network, settings.Explain);
        var x = mnist.ImagesTensor(8000, 200, normalize: true);
        using var batch = new AttributionBatch(model, x, mnist.LabelsTensor(8000, 200).ToArray<long>());
        var completeness = new List<double>();
        var minimality = new List<double>();
        Collect(SourceSignalDiagnostics.Compute(method, batch), completeness, minimality);
        AssertFiguresMatch("mnist", completeness, minimality);
        using var first = new AttributionBatch(model, x.narrow(0, 0, 4), mnist.LabelsTensor(8000, 4).ToArray<long>());
        AssertMapsMatch("mnist", method.Explain(first));
    }

    // The metric definitions of docs/metrics.md, per image.
    private static void Collect(SourceSignalDiagnostics.Result d, List<double> completeness, List<double> minimality)
    {
        for (var i = 0; i < d.Original.Length; i++)
        {
            completeness.Add(Math.Abs(d.FromSource[i] - d.Original[i]) / Math.Max(Math.Abs(d.Original[i]), 1e-12));
            minimality.Add(d.FromDistractor[i] / (Math.Abs(d.Original[i]) > 1e-12 ? d.Original[i] : 1e-12));
        }
    }

    private void AssertMapsMatch(string @case, Tensor maps)
    {
        var expected = _golden[$"{@case}.maps"].ToArray<float>();
        var actual = maps.contiguous().ToArray<float>();
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(Math.Abs);
        var largest = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"{@case}: maps max |C# − reference| = {largest:G4} (reference max {scale:G4}), relative {largest / scale:G4}");
        Assert.True(scale > 0, "the reference maps are all zero");
        Assert.True(largest / scale <= 1e-4, $"{@case}: maps differ by {largest / scale:G4} of their maximum");
    }

    private void AssertFiguresMatch(string @case, List<double> completeness, List<double> minimality)
    {
        var c = _golden[$"{@case}.completeness"].ToArray<float>();
        var m = _golden[$"{@case}.minimality"].ToArray<float>();
        Assert.Equal(c.Length, completeness.Count);
        output.WriteLine($"{@case}: completeness mean {completeness.Average():F6} (reference {c.Average():F6}), " +
                         $"minimality mean {minimality.Average():F6} (reference {m.Average():F6})");
        Assert.True(Math.Abs(completeness.Average() - c.Average()) <= 0.01);
        Assert.True(Math.Abs(minimality.Average() - m.Average()) <= 0.01);
        for (var i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(completeness[i] - c[i]) <= 0.01, $"{@case} image {i}: completeness {completeness[i]} vs {c[i]}");
            Assert.True(Math.Abs(minimality[i] - m[i]) <= 0.01, $"{@case} image {i}: minimality {minimality[i]} vs {m[i]}");
        }
    }
}
