using System.Text.Json;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Trains MIP-IN inverses on a fixed set of training images, or loads them when a matching one was saved before.
/// Files live under DIRECTORY/ARCHITECTURE/LAYER/KEY.safetensors, where KEY hashes the full provenance (checkpoint,
/// training images, preprocessing, options, seed); loading re-checks the provenance and refuses stale files.
/// </summary>
public sealed class InverseStore : IDisposable
{
    private readonly string _directory;
    private readonly string _checkpointSha256;
    private readonly IReadOnlyList<ImageRecord> _training;
    private readonly PreprocessConfig _preprocess;
    private readonly Device _device;
    private readonly int _batchSize;
    private readonly Action<string>? _log;
    private readonly Dictionary<string, InverseNetwork> _loaded = new(StringComparer.Ordinal);
    private string? _trainingSha256;

    public InverseStore(TrainingSet training)
    {
        if (training.Images.Count == 0) throw new ArgumentException("MIP-IN needs at least one training image", nameof(training));
        _directory = training.Directory;
        _checkpointSha256 = training.CheckpointSha256;
        _training = training.Images;
        _preprocess = training.Preprocess;
        _device = training.Device;
        _batchSize = training.BatchSize;
        _log = training.Log;
        _trainingSha256 = training.ImagesSha256;
    }

    /// <summary>A store over the given training images (see <see cref="TrainingSet"/> for each argument).</summary>
    public InverseStore(string directory, string checkpointSha256, IReadOnlyList<ImageRecord> training, PreprocessConfig preprocess,
        Device device, int batchSize = 32, Action<string>? log = null, string? trainingSha256 = null)
        : this(new TrainingSet(directory, checkpointSha256, training, preprocess, device, batchSize, log, trainingSha256))
    {
    }


    /// <summary>How many inverses this store trained (rather than loaded) so far.</summary>
    public int TrainedCount { get; private set; }

    /// <summary>Per-layer reconstruction reports of the inverses this store trained or loaded, by file.</summary>
    public Dictionary<string, IReadOnlyList<LayerReport>> Reports { get; } = new(StringComparer.Ordinal);

    /// <summary>The provenance an inverse for these inputs must carry.</summary>
    public MipInProvenance ProvenanceFor(ClassifierModel model, string layer, MipInTrainingOptions options) =>
        ProvenanceFor(model.Architecture, model.NumClasses, layer, options);

    /// <summary>The provenance for an architecture and class count (no model needed, e.g. to check for a saved file).</summary>
    public MipInProvenance ProvenanceFor(string architecture, int numClasses, string layer, MipInTrainingOptions options)
    {
        _trainingSha256 ??= TrainingSet.HashOf(_training);
        // The cache limit only bounds memory; it does not change the trained weights, so it is not part of the key.
        // Adam takes one step per batch, so the batch size shapes the weights and is part of the key.
        var optionsText = JsonSerializer.Serialize(new { options = options with { CacheLimitMb = 0 }, preprocess = _preprocess, NumClasses = numClasses, batch = _batchSize });
        return new MipInProvenance(architecture, layer, _checkpointSha256, _trainingSha256, options.Seed,
            ContentHash.OfText(optionsText), new long[] { 3, _preprocess.CropSize, _preprocess.CropSize });
    }

    /// <summary>Where the inverse for these inputs is stored.</summary>
    public string PathFor(MipInProvenance p) =>
        Path.Combine(_directory, p.Architecture, p.Layer,
            ContentHash.OfText(JsonSerializer.Serialize(p))[..16] + ".safetensors");

    public InverseNetwork GetInverse(ClassifierModel model, string layer, MipInTrainingOptions options)
    {
        var provenance = ProvenanceFor(model, layer, options);
        var path = PathFor(provenance);
        if (_loaded.TryGetValue(path, out var cached)) return cached;
        InverseNetwork network;
        if (File.Exists(path))
        {
            var (loaded, report) = InverseNetworkFile.Load(path, model, provenance, options.PoolInverse == "proportional");
            network = loaded;
            Reports[path] = report;
            _log?.Invoke($"mipin: loaded the inverse of {model.Architecture} down to {layer} from {path}");
        }
        else
        {
            network = Train(model, layer, options, provenance, path);
        }
        _loaded[path] = network;
        return network;
    }

    private InverseNetwork Train(ClassifierModel model, string layer, MipInTrainingOptions options, MipInProvenance provenance, string path)
    {
        _log?.Invoke($"mipin: training the inverse of {model.Architecture} down to {layer} on {_training.Count} images");
        var batches = new List<Tensor>();
        var issues = new List<DataIssue>();
        try
        {
            for (var start = 0; start < _training.Count; start += _batchSize)
            {
                var batch = ImageBatchLoader.Load(_training.Skip(start).Take(_batchSize).ToList(), _preprocess, _device, issues);
                batches.Add(batch.Images.DetachFromDisposeScope());
            }
            if (options.Augment > 0)
            {
                // Seeded by the training seed, so the augmented set is part of what the options hash names.
                var random = new Random(unchecked((int)options.Seed) ^ 0x5EED);
                foreach (var original in batches.ToList())
                    foreach (var copy in TrainingAugmentation.Copies(original, options.Augment, random))
                        batches.Add(copy.DetachFromDisposeScope());
                _log?.Invoke($"mipin: {options.Augment} augmented copies of each training image ({batches.Count} batches)");
            }
            if (issues.Count > 0)
                throw new DatasetException(issues[0].File, $"{issues.Count} MIP-IN training image(s) could not be read (first: {issues[0].Reason})",
                    "repair or remove them: the training set must be complete for the inverse to be reproducible");
            var progress = _log is null ? null : new Progress<TrainingProgress>(p =>
            {
                if (p.Epoch == p.Epochs || p.Epoch % 10 == 0) _log($"mipin: {p.Stage} epoch {p.Epoch}/{p.Epochs} loss {p.Loss:G4}");
            });
            var result = MipInTrainer.Train(model, layer, batches, options, progress);
            foreach (var r in result.Layers.Where(r => r.Trained))
                _log?.Invoke($"mipin: {r.Stage} ({r.Inverse}) relative reconstruction error {r.InitialError:G4} -> {r.FinalError:G4}" +
                             (r.KeptInitialisation ? " (fitting did not improve it; kept the initial weights)" : ""));
            InverseNetworkFile.Save(path, result.Network, provenance, result.Layers);
            Reports[path] = result.Layers;
            TrainedCount++;
            return result.Network;
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var n in _loaded.Values) n.Dispose();
        _loaded.Clear();
    }
}
