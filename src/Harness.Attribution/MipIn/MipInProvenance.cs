namespace Harness.Attribution.MipIn;

/// <summary>
/// What a trained inverse network was made from. Saved with its weights; a saved inverse whose provenance differs
/// from the current run (other checkpoint, layer, training images, seed or options) is stale and refused.
/// </summary>
public sealed record MipInProvenance(
    string Architecture,
    string Layer,
    string CheckpointSha256,
    string TrainingSetSha256,
    ulong Seed,
    string OptionsSha256,
    long[] InputShape);

/// <summary>A saved inverse network that does not belong to the current model, layer, training set or options.</summary>
public sealed class StaleInverseException(string path, IEnumerable<string> differences)
    : Exception($"{path}: this trained MIP-IN inverse is stale ({string.Join("; ", differences)}). " +
                "Fix: delete it so it is retrained, or point to the inverse trained for this configuration.");
