namespace Harness.Torch;

/// <summary>
/// The BLAS library libtorch's matrix products run on in this process. Debian's libtorch links the generic
/// <c>libblas.so.3</c>, which Debian's alternatives point at the reference (netlib) implementation unless an optimised
/// one is installed: with the reference BLAS a MobileNetV2 classifier (25×1280 by 1280×1000) takes 26 ms, with
/// OpenBLAS 0.6 ms, and VGG-19's classifier dominates its passes. <c>scripts/bootstrap.sh</c> installs
/// <c>libopenblas0-openmp</c> (OpenMP threads, like libtorch's own); the bench and <c>mipin info</c> print what runs.
/// </summary>
public static class BlasLibrary
{
    /// <summary>
    /// The resolved path of the BLAS shared library mapped into this process (libtorch loaded first), or null when none
    /// is mapped or the system has no /proc.
    /// </summary>
    public static string? Path
    {
        get
        {
            _ = torch.version; // libtorch, and the BLAS it links, are loaded
            try
            {
                foreach (var line in File.ReadLines("/proc/self/maps"))
                {
                    var slash = line.IndexOf('/');
                    if (slash < 0) continue;
                    var file = line[slash..];
                    var name = System.IO.Path.GetFileName(file);
                    if (name.StartsWith("libblas.so", StringComparison.Ordinal) || name.StartsWith("libopenblas", StringComparison.Ordinal)
                        || name.StartsWith("libblis", StringComparison.Ordinal) || name.StartsWith("libmkl_rt", StringComparison.Ordinal))
                        return new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file;
                }
            }
            catch (IOException)
            {
            }
            return null;
        }
    }

    /// <summary>A short description: the library and, for the reference implementation, why it matters.</summary>
    public static string Describe()
    {
        var path = Path;
        if (path is null) return "unknown (no BLAS library mapped)";
        return IsReference(path)
            ? $"{path} (the reference BLAS: matrix products run about 40x slower; install libopenblas0-openmp, see scripts/bootstrap.sh)"
            : path;
    }

    /// <summary>Whether <paramref name="path"/> is Debian's reference (netlib) BLAS: the generic blas/ folder.</summary>
    public static bool IsReference(string path) =>
        path.Contains("/blas/libblas.so", StringComparison.Ordinal);
}
