using Harness.Attribution;
using Harness.Metrics;
using Harness.Metrics.Sanity;
using Harness.Models;
using Harness.Torch;
using Xunit.Abstractions;

namespace Harness.Tests.Metrics;

/// <summary>
/// The sanity-check metrics against the independent PyTorch implementation of tools/reference/sanity.py
/// (Golden/make_golden_sanity.py): the shipped MobileNetV2 on four sample images. Deletion/insertion curves use the
/// reference's own gradient maps; the randomisation cascade uses this harness's gradient and Grad-CAM maps on the
/// randomised model and the reference's weights from the same SplitMix64 streams (seed 7).
/// </summary>
public sealed class SanityMetricGoldenTests : IDisposable
{
    private const double Tolerance = 1e-3;
    private readonly StateDict _golden = torch.load(TestPaths.Fixture("Golden", "sanity.safetensors"));
    private readonly ClassifierModel _model = ModelZoo.Load("mobilenet_v2", TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth"));
    private readonly ITestOutputHelper _output;

    public SanityMetricGoldenTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _model.Dispose();
        _golden.Dispose();
    }

    // The reference's input: ((pixels / 255) − 0.5) / 0.5, as make_golden_attribution.py.
    private Tensor Input() => (_golden["pixels"].to(ScalarType.Float32).div(255.0) - 0.5) / 0.5;

    private long[] Targets => _golden["targets"].ToArray<long>();

    private static double[][] Rows(Tensor t) => t.unbind(0).Select(r => r.to(ScalarType.Float64).ToArray<double>()).ToArray();

    [Theory]
    [InlineData("deletion", "blur")]
    [InlineData("deletion", "mean")]
    [InlineData("insertion", "blur")]
    [InlineData("insertion", "mean")]
    public void PerturbationCurvesMatchPyTorch(string mode, string baseline)
    {
        using var scope = torch.NewDisposeScope();
        var input = Input();
        var kind = PerturbationBaselines.Choices.Single(c => c.Name == baseline).Value;
        using var baselines = PerturbationBaselines.Create(input, kind);
        var maps = _golden["maps_gradient"].unbind(0).Select(m => m.flatten().ToArray<float>()).ToArray();
        var step = (int)_golden["step"].item<long>();
        var curves = PerturbationCurve.Compute(_model, input, baselines, Targets, maps, step, insertion: mode == "insertion");

        var expected = Rows(_golden[$"{mode}_{baseline}_curve"]);
        var expectedAuc = _golden[$"{mode}_{baseline}_auc"].ToArray<double>();
        var worst = 0.0;
        for (var i = 0; i < curves.Length; i++)
        {
            Assert.Equal(expected[i].Length, curves[i].Length);
            for (var k = 0; k < curves[i].Length; k++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i][k] - curves[i][k]));
                Assert.True(Math.Abs(expected[i][k] - curves[i][k]) <= Tolerance, $"{mode}/{baseline} image {i} p_{k}: {curves[i][k]} vs PyTorch {expected[i][k]}");
            }
            Assert.Equal(expectedAuc[i], PerturbationCurve.Auc(curves[i]), Tolerance);
        }
        _output.WriteLine($"{mode}/{baseline}: largest |Δp| {worst:G3}; AUCs {string.Join(", ", curves.Select(c => PerturbationCurve.Auc(c).ToString("F5")))}");
    }

    [Fact]
    public void AucIsTheTrapezoidRuleAndSpearmanAveragesTies()
    {
        Assert.Equal(0.5, PerturbationCurve.Auc([1, 0.5, 0]), 12); // (1 + 0.5 + 0 − (1 + 0)/2) / 2
        Assert.Equal(1.0 / 3, PerturbationCurve.Auc([0, 0, 0.5, 1]), 12); // (0 + 0 + 0.5 + 1 − (0 + 1)/2) / 3
        // Ranks of [3, 1, 3, 2] with ties averaged: [3.5, 1, 3.5, 2]; against [1, 2, 3, 4] the Pearson correlation of
        // the ranks is −1/√22.5 by hand (scipy.stats.spearmanr: −0.21081851067789195).
        Assert.Equal([3.5, 1, 3.5, 2], Ranking.Average([3, 1, 3, 2]));
        Assert.Equal(-1 / Math.Sqrt(22.5), MapSimilarity.Spearman([3, 1, 3, 2], [1, 2, 3, 4]), 12);
        Assert.Equal(0, MapSimilarity.Spearman([1, 1, 1, 1], [1, 2, 3, 4]));
        var map = Enumerable.Range(0, 100).Select(k => (double)(k * 37 % 17)).ToArray();
        Assert.Equal(1, MapSimilarity.Ssim(map, map, 10, 10), 12);
    }

    [Fact]
    public void RandomisedWeightsAreTheReferencesBitForBit()
    {
        var seed = (ulong)_golden["mprt_seed"].item<long>();
        foreach (var (name, bound) in new[] { ("features.0.0.weight", 1 / Math.Sqrt(27)), ("classifier.1.bias", 1 / Math.Sqrt(1280)) })
        {
            var expected = _golden[$"mprt_check_{name}"].ToArray<float>();
            var actual = ModelRandomisation.UniformValues(seed, name, expected.Length, bound);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void RandomisationCascadeMatchesPyTorchAndRestoresTheModel()
    {
        using var scope = torch.NewDisposeScope();
        var input = Input();
        var methods = new IAttributionMethod[] { new GradientMethod(), GradCamMethod.For(_model) };
        using var noGrad = torch.no_grad();
        var logitsBefore = _model.forward(input).ToArray<float>();
        using var truth = new AttributionBatch(_model, input, Targets, methods);
        var batch = new ModelMetricBatch(_model, ["0", "1", "2", "3"], methods, truth, truth.MapArrays(methods),
            (ulong)_golden["mprt_seed"].item<long>());

        var ssim = new MprtSsim().Compute(batch);
        var spearman = new MprtSpearman().Compute(batch);
        var cascade = RandomisationCascade.For(batch, 0);
        Assert.Equal(_golden.Metadata["mprt_stages"].Split(','), cascade.Stages);
        Assert.Equal(logitsBefore, _model.forward(input).ToArray<float>()); // every weight put back, bit for bit

        string[] names = ["gradient", "gradcam"];
        for (var m = 0; m < names.Length; m++)
        {
            foreach (var (similarity, scores, steps) in new[] { ("ssim", ssim, cascade.Ssim), ("spearman", spearman, cascade.Spearman) })
            {
                var expected = _golden[$"mprt_{names[m]}_{similarity}"].ToArray<double>();
                var expectedSteps = Rows(_golden[$"mprt_{names[m]}_{similarity}_steps"]);
                var worstStep = Enumerable.Range(0, 4).SelectMany(i => expectedSteps[i].Select((e, s) => Math.Abs(e - steps[m][i][s]))).Max();
                var worstMean = Enumerable.Range(0, 4).Max(i => Math.Abs(expected[i] - scores[m]![i].Value!.Value));
                _output.WriteLine($"{names[m]} {similarity}: means {string.Join(", ", scores[m]!.Select(r => r.Value!.Value.ToString("F5")))}; " +
                                  $"largest |Δ| per step {worstStep:G3}, of the mean {worstMean:G3}");
                Assert.True(worstMean <= Tolerance, $"{names[m]} {similarity}: the per-image mean differs from PyTorch's by {worstMean}");
            }
        }
    }
}
