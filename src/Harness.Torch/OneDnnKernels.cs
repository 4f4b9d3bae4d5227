namespace Harness.Torch;

/// <summary>
/// Which of oneDNN's CPU kernel families this machine gets. oneDNN 2.6 (Debian's, which libtorch links) runs
/// channels-last convolutions with its brgemm kernels on AVX-512 and with its older jit kernels elsewhere (AVX2), and
/// has Winograd and blocked-layout (<c>nChw16c</c>) kernels only on AVX-512. Several choices of the shim's frozen
/// convolutions follow from it (<see cref="Brgemm"/>); <c>mipin info</c> reports it.
/// </summary>
public static class OneDnnKernels
{
    /// <summary>
    /// Whether oneDNN runs channels-last convolutions here with its brgemm kernels (AVX-512); null in a shim built
    /// without oneDNN's headers. Where true, the input gradients of 3×3 stride-1 layers over at least 28×28 pixels run
    /// as forward convolutions over the transposed weight, and a residual sum runs inside the convolution's kernel
    /// (bit-identical to conv2d + add_). Elsewhere oneDNN's backward-data kernel, the faster there, and a separate add
    /// run: the same values, in more passes over memory.
    /// </summary>
    public static bool? Brgemm
    {
        get
        {
            Native.NativeMethods.Check(Native.NativeMethods.mt_brgemm_kernels(out var brgemm));
            return brgemm < 0 ? null : brgemm != 0;
        }
    }

    /// <summary>
    /// Why oneDNN's AVX-512-only kernels (Winograd, the blocked layout) do not run here, with the fix where there is
    /// one.
    /// </summary>
    public static string WhyNoAvx512Kernels() => Brgemm switch
    {
        null => "this native shim was built without oneDNN's headers: apt-get install libdnnl-dev (scripts/bootstrap.sh), then rebuild",
        false => "this CPU lacks AVX-512, which oneDNN 2.6's Winograd and blocked-layout kernels need (its AVX2 kernels run instead)",
        true => "oneDNN turned them down on this CPU",
    };
}
