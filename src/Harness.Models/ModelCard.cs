using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Data.Imaging;

namespace Harness.Models;

/// <summary>
/// What a checkpoint needs besides its weights: architecture, class count, input preprocessing and the default
/// Grad-CAM layer. Read from a JSON file next to the weights with the same base name
/// (<c>mobilenet_v2_coral.pth</c> → <c>mobilenet_v2_coral.json</c>), so the right preprocessing travels with
/// the checkpoint. Command-line options override it.
/// </summary>
public sealed record ModelCard(string Architecture, int NumClasses, PreprocessConfig Preprocess, string? GradCamLayer)
{
    private sealed record PreprocessJson(
        [property: JsonPropertyName("resize")] int Resize,
        [property: JsonPropertyName("crop")] int Crop,
        [property: JsonPropertyName("mean")] float[] Mean,
        [property: JsonPropertyName("std")] float[] Std);

    private sealed record CardJson(
        [property: JsonPropertyName("architecture")] string? Architecture,
        [property: JsonPropertyName("num_classes")] int? NumClasses,
        [property: JsonPropertyName("preprocess")] PreprocessJson? Preprocess,
        [property: JsonPropertyName("gradcam_layer")] string? GradCamLayer,
        [property: JsonPropertyName("reference")] string? Reference);

    /// <summary>The card file that belongs to a weights file.</summary>
    public static string PathFor(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    /// <summary>Reads the card next to <paramref name="weightsPath"/>, or returns null when there is none.</summary>
    public static ModelCard? TryLoadFor(string weightsPath)
    {
        var path = PathFor(weightsPath);
        return File.Exists(path) ? Load(path) : null;
    }

    public static ModelCard Load(string path)
    {
        CardJson? json;
        try
        {
            var options = new JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
            json = JsonSerializer.Deserialize<CardJson>(File.ReadAllText(path), options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid model card ({e.Message}). Expected keys: architecture, num_classes, preprocess {{resize, crop, mean, std}}, gradcam_layer, reference.", e);
        }
        if (json?.Architecture is null || json.Preprocess is null)
            throw new InvalidDataException($"{path}: a model card needs \"architecture\" and \"preprocess\".");
        var p = json.Preprocess;
        return new ModelCard(json.Architecture, json.NumClasses ?? 1000, new PreprocessConfig(p.Resize, p.Crop, p.Mean, p.Std), json.GradCamLayer);
    }
}
