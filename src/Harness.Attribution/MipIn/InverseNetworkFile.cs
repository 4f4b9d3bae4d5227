using System.Globalization;
using System.Text.Json;
using Harness.Data;
using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Saves and loads trained inverse networks: weights as .safetensors, provenance and the per-layer reconstruction
/// report in the file's metadata (also written beside it as NAME.json for people). Loading checks the provenance
/// against the run's and refuses stale inverses.
/// </summary>
public static class InverseNetworkFile
{
    private const string Format = "mipin-inverse/1";

    public static void Save(string path, InverseNetwork network, MipInProvenance provenance, IReadOnlyList<LayerReport> report)
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["architecture"] = provenance.Architecture,
            ["layer"] = provenance.Layer,
            ["checkpoint_sha256"] = provenance.CheckpointSha256,
            ["training_set_sha256"] = provenance.TrainingSetSha256,
            ["seed"] = provenance.Seed.ToString(CultureInfo.InvariantCulture),
            ["options_sha256"] = provenance.OptionsSha256,
            ["input_shape"] = string.Join(",", provenance.InputShape),
            ["report"] = JsonSerializer.Serialize(report),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using (var state = network.state_dict()) state.Save(path, metadata);
        var sidecar = Path.ChangeExtension(path, ".json");
        AtomicFile.WriteAllText(sidecar, JsonSerializer.Serialize(new { provenance, report }, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Loads an inverse for <paramref name="model"/>, refusing it unless its provenance equals <paramref name="expected"/>.</summary>
    /// <param name="proportionalPooling">The pooling inverse the network was trained with (part of the options hash).</param>
    public static (InverseNetwork Network, IReadOnlyList<LayerReport> Report) Load(string path, ClassifierModel model, MipInProvenance expected,
        bool proportionalPooling = false)
    {
        using var state = torch.load(path);
        var meta = state.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: not a MIP-IN inverse network file (format '{format}', expected '{Format}').");
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : "(missing)";
        var differences = new List<string>();
        void Compare(string key, string actual, string wanted)
        {
            if (actual != wanted) differences.Add($"{key} is {Short(actual)}, this run needs {Short(wanted)}");
        }
        Compare("architecture", Get("architecture"), expected.Architecture);
        Compare("layer", Get("layer"), expected.Layer);
        Compare("checkpoint", Get("checkpoint_sha256"), expected.CheckpointSha256);
        Compare("training set", Get("training_set_sha256"), expected.TrainingSetSha256);
        Compare("seed", Get("seed"), expected.Seed.ToString(CultureInfo.InvariantCulture));
        Compare("options", Get("options_sha256"), expected.OptionsSha256);
        Compare("input shape", Get("input_shape"), string.Join(",", expected.InputShape));
        if (differences.Count > 0) throw new StaleInverseException(path, differences);

        using var scope = torch.NewDisposeScope();
        var device = model.parameters().First().device;
        var probe = torch.zeros(new long[] { 1 }.Concat(expected.InputShape).ToArray(), device: device);
        var network = InverseNetwork.Create(model, expected.Layer, probe, proportionalPooling);
        try
        {
            network.load_state_dict(state, $"MIP-IN inverse of {expected.Architecture} down to {expected.Layer}");
            network.requires_grad_(false);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        var report = JsonSerializer.Deserialize<List<LayerReport>>(Get("report")) ?? new List<LayerReport>();
        return (network, report);
    }

    private static string Short(string value) => value.Length > 16 ? value[..12] + "…" : value;
}
