using Harness.Data.Imaging;

namespace Harness.Data;

/// <summary>
/// One labelled image of a localization dataset.
/// </summary>
/// <param name="Id">File name without extension, e.g. "ILSVRC2012_val_00000890"; records sort by it.</param>
/// <param name="ImagePath">Full path of the image file.</param>
/// <param name="ClassIndex">Index in the synset mapping (torchvision class order).</param>
/// <param name="Wnid">WordNet id of the class, e.g. "n01440764".</param>
/// <param name="Boxes">Ground-truth boxes in the source image's pixel frame (continuous coordinates, see
/// <see cref="BoundingBox"/>), in annotation order. Any resize or crop must transform them too.</param>
/// <param name="AnnotatedWidth">Image width stated by the annotation (XML &lt;size&gt;), null when the source has none (CSV).</param>
/// <param name="AnnotatedHeight">Image height stated by the annotation, null when the source has none.</param>
public sealed record ImageRecord(
    string Id,
    string ImagePath,
    int ClassIndex,
    string Wnid,
    IReadOnlyList<BoundingBox> Boxes,
    int? AnnotatedWidth,
    int? AnnotatedHeight);
