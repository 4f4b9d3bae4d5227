namespace Harness.Data.Imaging;

/// <summary>
/// An image file that could not be read or decoded. <see cref="Exception.Message"/> names the file and the
/// problem ("file not found", "empty file", "not a JPEG", "truncated/corrupt JPEG data: ...").
/// </summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string source, string problem, Exception? inner = null)
        : base($"cannot decode image '{source}': {problem}", inner)
    {
        ImageSource = source;
        Problem = problem;
    }

    /// <summary>The file path (or other name) of the image.</summary>
    public string ImageSource { get; }

    /// <summary>What went wrong, without the file name.</summary>
    public string Problem { get; }
}
