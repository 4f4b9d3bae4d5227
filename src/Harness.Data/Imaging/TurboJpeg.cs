using System.Reflection;
using System.Runtime.InteropServices;

namespace Harness.Data.Imaging;

/// <summary>
/// P/Invoke declarations for the TurboJPEG 2.x C API (<c>/usr/include/turbojpeg.h</c>; Debian: libturbojpeg0).
/// A TurboJPEG handle is not thread-safe: callers create one per call and free it with <see cref="tjDestroy"/>
/// in a finally block. The same libjpeg-turbo library is what Pillow decodes with, which is why decoding
/// through it reproduces PIL's pixels.
/// </summary>
internal static unsafe partial class TurboJpeg
{
    internal const string Library = "turbojpeg";

    // Debian ships only the versioned runtime file (libturbojpeg.so.0); the unversioned .so comes with -dev.
    private static readonly string[] s_candidates = ["libturbojpeg.so.0", "libturbojpeg.so"];

    // Pixel formats (enum TJPF), chroma subsampling (enum TJSAMP), JPEG colour spaces (enum TJCS), error codes (TJERR).
    internal const int TJPF_RGB = 0;
    internal const int TJPF_CMYK = 11;
    internal const int TJSAMP_444 = 0;
    internal const int TJCS_RGB = 0;
    internal const int TJCS_YCbCr = 1;
    internal const int TJCS_GRAY = 2;
    internal const int TJCS_CMYK = 3;
    internal const int TJCS_YCCK = 4;
    internal const int TJERR_WARNING = 0;

    /// <summary>
    /// Flags 0 = libjpeg's defaults: accurate integer IDCT (JDCT_ISLOW) and fancy (smooth) chroma upsampling,
    /// exactly what Pillow uses, so decoded pixels match PIL byte for byte.
    /// </summary>
    internal const int DefaultFlags = 0;

    // SetDllImportResolver may be called once per assembly: this is the only resolver of Harness.Data.
    // Any other native library this assembly needs must be mapped in Resolve below, not by a second resolver.
    // (Harness.Torch sets its own resolver on its own assembly; the two do not interact.)
    static TurboJpeg() => NativeLibrary.SetDllImportResolver(typeof(TurboJpeg).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return 0; // not ours: default probing
        foreach (var candidate in s_candidates)
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle)) return handle;
        throw new DllNotFoundException(
            "libturbojpeg.so.0 (the TurboJPEG library) was not found. Debian: apt-get install libturbojpeg0 " +
            "(libturbojpeg0-dev for the headers).");
    }

    [LibraryImport(Library)] internal static partial nint tjInitDecompress();
    [LibraryImport(Library)] internal static partial nint tjInitCompress();
    [LibraryImport(Library)] internal static partial int tjDestroy(nint handle);

    [LibraryImport(Library)]
    internal static partial int tjDecompressHeader3(nint handle, byte* jpegBuf, CULong jpegSize, out int width,
        out int height, out int jpegSubsamp, out int jpegColorspace);

    [LibraryImport(Library)]
    internal static partial int tjDecompress2(nint handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width,
        int pitch, int height, int pixelFormat, int flags);

    /// <summary>With <c>*jpegBuf == null</c> TurboJPEG allocates the output; free it with <see cref="tjFree"/>.</summary>
    [LibraryImport(Library)]
    internal static partial int tjCompress2(nint handle, byte* srcBuf, int width, int pitch, int height,
        int pixelFormat, byte** jpegBuf, CULong* jpegSize, int jpegSubsamp, int jpegQual, int flags);

    [LibraryImport(Library)] internal static partial void tjFree(byte* buffer);
    [LibraryImport(Library)] internal static partial nint tjGetErrorStr2(nint handle);
    [LibraryImport(Library)] internal static partial int tjGetErrorCode(nint handle);

    /// <summary>The last error or warning of <paramref name="handle"/> (0: the last initialisation error).</summary>
    internal static string ErrorMessage(nint handle) =>
        Marshal.PtrToStringUTF8(tjGetErrorStr2(handle)) is { Length: > 0 } text ? text : "unknown TurboJPEG error";

    /// <summary>
    /// True when a call that returned <paramref name="rc"/> failed for real. TurboJPEG also returns -1 for
    /// warnings (e.g. "Premature end of JPEG file", extraneous bytes), after producing a complete image.
    /// </summary>
    internal static bool IsFatal(int rc, nint handle) => rc != 0 && tjGetErrorCode(handle) != TJERR_WARNING;

    internal static bool IsWarning(int rc, nint handle) => rc != 0 && tjGetErrorCode(handle) == TJERR_WARNING;
}
