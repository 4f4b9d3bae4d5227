using System.Collections;
using Harness.Torch.Serialization;

namespace Harness.Torch;

/// <summary>
/// An ordered name → tensor map, as a PyTorch <c>state_dict()</c>: loaded from a torchvision <c>.pth</c> (zip or
/// legacy format, through a restricted unpickler that never runs code) or a <c>.safetensors</c> file, and saved as
/// <c>.safetensors</c>. The dictionary owns its tensors: disposing it frees them.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly List<string> _order = new();
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    public StateDict(string? source = null) => Source = source;

    /// <summary>The file this dictionary was loaded from, if any (used in error messages).</summary>
    public string? Source { get; }

    /// <summary>Metadata read from a safetensors header (empty for .pth files).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    /// <summary>Adds a tensor; the dictionary takes ownership (it leaves any dispose scope).</summary>
    public void Add(string name, Tensor tensor)
    {
        if (!_tensors.TryAdd(name, tensor.DetachFromDisposeScope()))
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        _order.Add(name);
    }

    /// <summary>
    /// Loads a checkpoint. Files ending in .safetensors are read as safetensors; anything else as a PyTorch
    /// checkpoint (zip or legacy format). Tensors are placed on <paramref name="device"/> (default cpu).
    /// </summary>
    public static StateDict Load(string path, Device? device = null)
    {
        IReadOnlyList<KeyValuePair<string, StoredTensor>> stored;
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            (stored, metadata) = SafetensorsFile.Read(path);
        else
            stored = PthFile.Read(path);
        var dict = new StateDict(path) { Metadata = metadata };
        try
        {
            foreach (var (name, t) in stored)
                dict.Add(name, Tensor.FromBytes(t.ToContiguousBytes(), t.DType, t.Shape, device));
        }
        catch
        {
            dict.Dispose();
            throw;
        }
        return dict;
    }

    /// <summary>Writes the tensors (in order) to a .safetensors file, atomically.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsFile.Write(path, _order.Select(n =>
        {
            var t = _tensors[n];
            return KeyValuePair.Create(n, StoredTensor.Contiguous(t.dtype, t.shape, t.ToBytes(), n));
        }), metadata);

    /// <summary>
    /// Checks names and shapes against what a model expects and throws one <see cref="CheckpointException"/>
    /// listing every missing, unexpected and mis-shaped tensor (like torch's load_state_dict(strict=True)).
    /// </summary>
    public void CheckMatches(IEnumerable<(string Name, long[] Shape)> expected, string? modelName = null)
    {
        var expectedList = expected.ToList();
        var expectedNames = expectedList.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var missing = expectedList.Where(e => !_tensors.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        var unexpected = _order.Where(n => !expectedNames.Contains(n)).ToList();
        var mismatched = expectedList
            .Where(e => _tensors.TryGetValue(e.Name, out var t) && !t.shape.SequenceEqual(e.Shape))
            .Select(e => $"{e.Name}: checkpoint [{string.Join(", ", _tensors[e.Name].shape)}], model [{string.Join(", ", e.Shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count == 0) return;
        var lines = new List<string> { $"the checkpoint does not match {modelName ?? "the model"}:" };
        if (missing.Count > 0) lines.Add($"  missing keys ({missing.Count}): {Summarize(missing)}");
        if (unexpected.Count > 0) lines.Add($"  unexpected keys ({unexpected.Count}): {Summarize(unexpected)}");
        if (mismatched.Count > 0) lines.Add($"  shape mismatches ({mismatched.Count}): {Summarize(mismatched)}");
        throw new CheckpointException(Source ?? "(in memory)", string.Join(Environment.NewLine, lines),
            "check that the checkpoint was saved from the same architecture and num_classes");
    }

    private static string Summarize(List<string> items) =>
        string.Join("; ", items.Take(10)) + (items.Count > 10 ? $"; ... and {items.Count - 10} more" : "");

    public Tensor this[string key] => _tensors.TryGetValue(key, out var t)
        ? t
        : throw new KeyNotFoundException($"no tensor named '{key}' in {Source ?? "the state dict"}");

    public IEnumerable<string> Keys => _order;
    public IEnumerable<Tensor> Values => _order.Select(n => _tensors[n]);
    public int Count => _order.Count;
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) =>
        _tensors.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() =>
        _order.Select(n => KeyValuePair.Create(n, _tensors[n])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _order.Clear();
    }
}

public static partial class torch
{
    /// <summary>Loads a .pth (zip or legacy) or .safetensors checkpoint; see <see cref="StateDict.Load"/>.</summary>
    public static StateDict load(string path, Device? device = null) => StateDict.Load(path, device);

    /// <summary>Saves tensors to a .safetensors file (atomically), with optional string metadata.</summary>
    public static void save(StateDict tensors, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        tensors.Save(path, metadata);
}
