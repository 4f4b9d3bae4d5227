using Harness.Experiments;
using Harness.Models;
using Harness.Torch;

namespace Harness.Grains;

/// <summary>What a silo gives a grain: its device, a log, cancellation, and models already loaded on that device.</summary>
public sealed class GrainContext(Device device, Action<string> log, CancellationToken cancellation) : IDisposable
{
    private readonly Dictionary<string, ClassifierModel> _models = new(StringComparer.Ordinal);

    public Device Device { get; } = device;
    public Action<string> Log { get; } = log;
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>How many models this slot has loaded so far (throughput.csv's model_loads: a slot keeps them between grains).</summary>
    public int ModelLoads { get; private set; }

    /// <summary>The ids of the models loaded on this slot.</summary>
    public IEnumerable<string> LoadedModels => _models.Keys;

    /// <summary>The frozen model for a spec, loaded once per silo slot.</summary>
    public ClassifierModel Model(ModelSpec spec)
    {
        if (_models.TryGetValue(spec.Id, out var model)) return model;
        model = ModelZoo.Load(spec.Architecture, spec.Weights, spec.NumClasses, Device, spec.MemoryFormat);
        _models[spec.Id] = model;
        ModelLoads++;
        return model;
    }

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
        _models.Clear();
    }
}
