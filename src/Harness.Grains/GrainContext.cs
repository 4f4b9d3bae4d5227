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
    // the set changes under _lock (a model loads and is disposed outside it).
    private readonly LeastRecentlyUsed<ClassifierModel> _models = new();
    private readonly Lock _lock = new();

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
            lock (_lock) return _models.Keys;
        }
    }

    /// <summary>The frozen model for a spec, loaded once while the slot keeps it.</summary>
    public ClassifierModel Model(ModelSpec spec)
    {
        lock (_lock)
            if (_models.TryGet(spec.Id, out var kept)) return kept;
        // Grains on a slot run one at a time, so no grain is using a model unloaded here.
        while (true)
        {
            string? id;
            ClassifierModel? unloaded;
            lock (_lock)
                if (_models.Count < MaxModels || !_models.TryRemoveLeastRecent(out id, out unloaded)) break;
            Log($"unloading model {id} from {Device} (a slot keeps at most {MaxModels} model(s), the least recently used goes)");
            unloaded.Dispose();
        }
        var model = ModelZoo.Load(spec.Architecture, spec.Weights, spec.NumClasses, Device, spec.MemoryFormat);
        lock (_lock) _models.Set(spec.Id, model);
        ModelLoads++;
        return model;
    }

    public void Dispose()
    {
        IReadOnlyList<ClassifierModel> models;
        lock (_lock)
        {
            models = _models.Values;
            _models.Clear();
        }
        foreach (var m in models) m.Dispose();
    }
}
