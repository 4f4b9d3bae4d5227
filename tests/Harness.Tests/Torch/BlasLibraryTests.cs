using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// <see cref="BlasLibrary"/> names the BLAS that libtorch's matrix products run on: the file Debian's libblas.so.3
/// alternative points at, which scripts/bootstrap.sh makes OpenBLAS.
/// </summary>
public sealed class BlasLibraryTests
{
    [SkippableFact]
    public void NamesTheLibraryInTheFolderTheSystemAlternativePointsAt()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/lib/x86_64-linux-gnu/libblas.so.3"), "needs Debian's libblas.so.3 alternative (x86-64)");
        var expected = new FileInfo("/usr/lib/x86_64-linux-gnu/libblas.so.3").ResolveLinkTarget(returnFinalTarget: true)?.FullName
                       ?? "/usr/lib/x86_64-linux-gnu/libblas.so.3";
        // The alternative's folder holds the library (openblas-openmp/libblas.so.3 loads libopenblasp-r*.so beside it).
        Assert.Equal(Path.GetDirectoryName(expected), Path.GetDirectoryName(BlasLibrary.Path));
    }

    [Fact]
    public void TellsTheReferenceBlasFromOptimisedOnes()
    {
        Assert.True(BlasLibrary.IsReference("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"));
        Assert.False(BlasLibrary.IsReference("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"));
        Assert.False(BlasLibrary.IsReference("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"));
    }
}
