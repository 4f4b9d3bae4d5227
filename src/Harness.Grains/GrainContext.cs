using Harness.Experiments;
using Harness.Models;
using Harness.Torch;

namespace Harness.Grains;

/// <summary>
/// What a silo gives a grain: its device, a log, cancellation, and models already loaded on that device. A slot keeps
/// the models it loaded between grains, so a run's shards load their model once, but at most
/// <see cref="MaxModels"/> of them: a standing silo serves run after run, and kept every model it ever loaded (each
/// with its weights on the device and the shim's copies of them in oneDNN's layout) until it stopped.
/// </summary>
/// <param name="maxModels">How many models the slot keeps; loading one more unloads the least recently used.</param>
public sealed class GrainContext(Device device, Action<string> log, CancellationToken cancellation, int maxModels = GrainContext.DefaultMaxModels)
    : IDisposable
{
    /// <summary>
    /// Models a standing silo's slot keeps by default: within a run the scheduler gives a slot the grains of a model it
    /// has already run there first, so a run of several models moves from one to the next, and two cover a run's model
    /// and the next run's. An embedded silo and a Slurm job's silos serve one run and keep all of its models.
    /// </summary>
    public const int DefaultMaxModels = 2;

    // The slot's worker thread loads and unloads; the silo may list the models from another thread (LoadedModels), so
    // the dictionaries change under _lock (a model loads outside it).
    private readonly Dictionary<string, ClassifierModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastUse = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _uses;

    public Device Device { get; } = device;
    public Action<string> Log { get; } = log;
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>How many models this slot keeps at most.</summary>
    public int MaxModels { get; } = maxModels >= 1 ? maxModels
        : throw new ArgumentOutOfRangeException(nameof(maxModels), maxModels, "a slot keeps at least one model");

    /// <summary>How many models this slot has loaded so far (throughput.csv's model_loads: a slot keeps them between grains).</summary>
    public int ModelLoads { get; private set; }

    /// <summary>The ids of the models loaded on this slot.</summary>
    public IReadOnlyList<string> LoadedModels
    {
        get
        {
            lock (_lock) return _models.Keys.ToArray();
        }
    }

    /// <summary>The frozen model for a spec, loaded once while the slot keeps it.</summary>
    public ClassifierModel Model(ModelSpec spec)
    {
        ClassifierModel? model;
        lock (_lock)
        {
            if (_models.TryGetValue(spec.Id, out model))
            {
                _lastUse[spec.Id] = ++_uses;
                return model;
            }
        }
        while (true)
        {
            string? leastRecent;
            lock (_lock) leastRecent = _models.Count >= MaxModels ? _models.Keys.MinBy(id => _lastUse[id]) : null;
            if (leastRecent is null) break;
            Unload(leastRecent);
        }
        model = ModelZoo.Load(spec.Architecture, spec.Weights, spec.NumClasses, Device, spec.MemoryFormat);
        lock (_lock)
        {
            _models[spec.Id] = model;
            _lastUse[spec.Id] = ++_uses;
        }
        ModelLoads++;
        return model;
    }

    // Grains on a slot run one at a time, so no grain is using the model unloaded here.
    private void Unload(string id)
    {
        Log($"unloading model {id} from {Device} (a slot keeps at most {MaxModels} model(s), the least recently used goes)");
        ClassifierModel? model;
        lock (_lock)
        {
            _models.Remove(id, out model);
            _lastUse.Remove(id);
        }
        model?.Dispose();
    }

    public void Dispose()
    {
        List<ClassifierModel> models;
        lock (_lock)
        {
            models = [.. _models.Values];
            _models.Clear();
            _lastUse.Clear();
        }
        foreach (var m in models) m.Dispose();
    }
}
