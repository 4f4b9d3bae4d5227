using BenchmarkDotNet.Attributes;
using Harness.Attribution;
using Harness.Models;
using Harness.Torch;

namespace Harness.Benchmarks;

/// <summary>
/// The shared forward + backward pass (gradient, Grad-CAM, gradient×input from one AttributionBatch) against the
/// gradient alone, on the small test CNN (fast enough for BenchmarkDotNet's many iterations), plus a plain no-grad
/// forward for reference.
/// </summary>
[MemoryDiagnoser]
public class GradientPassBenchmarks
{
    private ClassifierModel _model = null!;
    private Tensor _images = null!;
    private long[] _targets = null!;

    [Params(1, 8)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        _model = ModelZoo.Create("small_cnn", 10);
        _model.requires_grad_(false);
        using var g = new Generator(0);
        _images = torch.randn(new long[] { Batch, 3, 64, 64 }, generator: g).DetachFromDisposeScope();
        _targets = Enumerable.Range(0, Batch).Select(b => (long)(b % 10)).ToArray();
    }

    [Benchmark(Baseline = true)]
    public void Forward()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        _model.forward(_images);
    }

    [Benchmark]
    public void Gradient() => Explain(new GradientMethod());

    [Benchmark]
    public void FusedThreeMethods() => Explain(new GradientMethod(), GradCamMethod.For(_model), new GradientTimesInputMethod());

    private void Explain(params IAttributionMethod[] methods)
    {
        using var scope = torch.NewDisposeScope();
        using var batch = new AttributionBatch(_model, _images, _targets, methods);
        foreach (var m in methods) m.Explain(batch);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _images.Dispose();
        _model.Dispose();
    }
}
