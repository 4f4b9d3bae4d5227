namespace Harness.Data;

/// <summary>
/// Where the parts of an ImageNet validation set live. At least one of <paramref name="BoxesDir"/> (official
/// PASCAL-VOC XML, as in ILSVRC2012_bbox_val) and <paramref name="SolutionCsv"/> (Kaggle LOC_val_solution.csv)
/// must be given; with both, XML wins per image and the CSV fills in images that have no XML.
/// </summary>
/// <param name="ImagesDir">Folder of *.JPEG / *.jpg / *.jpeg images (not searched recursively).</param>
/// <param name="BoxesDir">Folder of per-image XML annotations, or null.</param>
/// <param name="SolutionCsv">Kaggle-format CSV, or null.</param>
/// <param name="SynsetMapping">LOC_synset_mapping.txt, which fixes the class indices.</param>
public sealed record ImageNetValOptions(string ImagesDir, string? BoxesDir, string? SolutionCsv, string SynsetMapping);
