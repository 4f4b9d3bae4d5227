using Harness.Data;
using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// What a trainable method (<see cref="ITrainableMethod"/>) trains on and where it keeps what it learned: the
/// training images, their preprocessing, the checkpoint they are explained with, the device and batch size, and the
/// folder of saved trained state. Trained state is keyed by these inputs, so a change to any of them trains anew.
/// </summary>
/// <param name="Directory">Folder of saved trained state (a run keeps it in <c>results/NAME/inverses/</c>).</param>
/// <param name="CheckpointSha256">Content hash of the model checkpoint the state is trained for.</param>
/// <param name="Images">The training images, in a fixed order (training is deterministic given it and the seed).</param>
/// <param name="Preprocess">How the images become model inputs.</param>
/// <param name="Device">Where training runs.</param>
/// <param name="BatchSize">Images per training batch (part of the state's key: one optimiser step per batch).</param>
/// <param name="Log">Progress lines, or null for silence.</param>
/// <param name="ImagesSha256"><see cref="HashOf"/> of <paramref name="Images"/> when the caller already has it (it reads
/// every image); computed on first use otherwise.</param>
public sealed record TrainingSet(
    string Directory,
    string CheckpointSha256,
    IReadOnlyList<ImageRecord> Images,
    PreprocessConfig Preprocess,
    Device Device,
    int BatchSize = 32,
    Action<string>? Log = null,
    string? ImagesSha256 = null)
{
    /// <summary>The content hash that identifies a set of training images in trained state's provenance.</summary>
    public static string HashOf(IEnumerable<ImageRecord> images) => ContentHash.OfFiles(images.Select(r => r.ImagePath));
}
