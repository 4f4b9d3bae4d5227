using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Models;
using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// One workload of <see cref="BenchMethods"/> set up for a model, batch size and device: a random input batch
/// (seeded) kept in host memory (pinned on CUDA, so each iteration's upload is an asynchronous copy), fixed
/// targets, and whatever the method needs (for mipin-explain an inverse network initialised from the forward
/// weights). <see cref="RunOnce"/> runs one iteration and frees everything it made before returning.
/// </summary>
public sealed class BenchWorkload : IDisposable
{
    private readonly ClassifierModel _model;
    private readonly Device _device;
    private readonly Tensor _host;
    private readonly long[] _targets;
    private readonly IReadOnlyList<IAttributionMethod> _methods;
    private readonly InverseNetwork? _inverse;
    private readonly string _layer;

    public BenchWorkload(ClassifierModel model, string method, int batchSize, Device device, ulong seed, int imageSize = 224)
    {
        Method = BenchMethods.Validate(method);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be ≥ 1");
        _model = model;
        _device = device;
        _targets = Targets(batchSize, model.NumClasses);
        _layer = GradCamMethod.DefaultLayer(model.Architecture);
        using (var generator = new Generator(seed))
        using (var scope = torch.NewDisposeScope())
        {
            var host = torch.randn(new long[] { batchSize, 3, imageSize, imageSize }, generator: generator);
            _host = (device.IsCuda ? host.pin_memory() : host).DetachFromDisposeScope();
        }
        try
        {
            _methods = method switch
            {
                BenchMethods.Gradient => new IAttributionMethod[] { new GradientMethod() },
                BenchMethods.GradCam => new IAttributionMethod[] { new GradCamMethod(_layer) },
                BenchMethods.Fused => new IAttributionMethod[] { new GradientMethod(), new GradCamMethod(_layer), new GradientTimesInputMethod() },
                BenchMethods.MipInExplain => new IAttributionMethod[] { new MipInMethod(_inverse = CreateInverse()) },
                _ => Array.Empty<IAttributionMethod>(),
            };
        }
        catch
        {
            _host.Dispose();
            throw;
        }
    }

    public string Method { get; }

    public int BatchSize => _targets.Length;

    /// <summary>The targets both sides explain: (97·b + 13) mod classes for image b (tools/reference/bench.py agrees).</summary>
    public static long[] Targets(int batchSize, int numClasses) =>
        Enumerable.Range(0, batchSize).Select(b => (97L * b + 13) % numClasses).ToArray();

    /// <summary>One iteration: upload the batch, run the workload, wait for the device; frees all it made.</summary>
    public void RunOnce()
    {
        using var scope = torch.NewDisposeScope();
        var images = _device.IsCuda ? _host.to(_device, non_blocking: true, copy: false) : _host;
        if (Method == BenchMethods.MipInTrain)
        {
            var result = MipInTrainer.Train(_model, _layer, new[] { images }, new MipInTrainingOptions { Epochs = 1 });
            result.Network.Dispose();
        }
        else
        {
            using var batch = new AttributionBatch(_model, images, _targets, _methods);
            foreach (var method in _methods) method.Explain(batch);
        }
        if (_device.IsCuda) torch.cuda.synchronize(_device.Index < 0 ? 0 : _device.Index);
    }

    private InverseNetwork CreateInverse()
    {
        using var scope = torch.NewDisposeScope();
        var probe = _device.IsCuda ? _host.to(_device) : _host;
        return InverseNetwork.Create(_model, _layer, probe);
    }

    public void Dispose()
    {
        _inverse?.Dispose();
        _host.Dispose();
    }
}
