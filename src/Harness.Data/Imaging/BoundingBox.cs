namespace Harness.Data.Imaging;

/// <summary>
/// An axis-aligned box in continuous pixel coordinates of some image frame: pixel (i, j) covers
/// [i, i+1) × [j, j+1), so a box covering pixel columns 3..5 inclusive is XMin = 3, XMax = 6.
/// ImageNet/PASCAL XML boxes give inclusive pixel indices and are converted with <see cref="FromInclusivePixels"/>.
/// </summary>
public readonly record struct BoundingBox(double XMin, double YMin, double XMax, double YMax)
{
    /// <summary>A box from inclusive pixel indices as written in ILSVRC XML files and the Kaggle CSV.</summary>
    public static BoundingBox FromInclusivePixels(int xmin, int ymin, int xmax, int ymax) => new(xmin, ymin, xmax + 1, ymax + 1);

    public double Width => Math.Max(0, XMax - XMin);
    public double Height => Math.Max(0, YMax - YMin);
    public double Area => Width * Height;
    public bool IsEmpty => Width <= 0 || Height <= 0;

    /// <summary>The part of this box inside [0, width) × [0, height).</summary>
    public BoundingBox ClipTo(double width, double height) =>
        new(Math.Clamp(XMin, 0, width), Math.Clamp(YMin, 0, height), Math.Clamp(XMax, 0, width), Math.Clamp(YMax, 0, height));
}
