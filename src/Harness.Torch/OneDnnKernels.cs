namespace Harness.Torch;

/// <summary>
/// Which of oneDNN's CPU kernel families this machine gets. oneDNN 2.6 (Debian's, which libtorch links) runs
/// channels-last convolutions with its brgemm kernels on AVX-512 and with its older jit kernels elsewhere (AVX2), and
/// has Winograd kernels only on AVX-512 (blocked-layout kernels: <c>nChw16c</c> on AVX-512, <c>nChw8c</c> on AVX2,
/// <see cref="BlockedActivation.BlockChannels"/>). Several choices of the shim's frozen
/// convolutions follow from it (<see cref="Brgemm"/>); <c>mipin info</c> reports it.
/// </summary>
public static class OneDnnKernels
{
    /// <summary>
    /// Whether oneDNN runs channels-last convolutions here with its brgemm kernels (AVX-512); null in a shim built
    /// without oneDNN's headers. Where true, the input gradients of 3×3 stride-1 layers over at least 28×28 pixels run
    /// as forward convolutions over the transposed weight, and a residual sum runs inside the convolution's kernel
    /// (bit-identical to conv2d + add_). Elsewhere oneDNN's backward-data kernel, the faster there, and a separate add
    /// run: the same values, in more passes over memory. Probed once per process.
    /// </summary>
    public static bool? Brgemm => s_brgemm.Value;

    private static readonly Lazy<bool?> s_brgemm = new(() =>
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_brgemm_kernels(out var brgemm));
        return brgemm < 0 ? null : brgemm != 0;
    });

    /// <summary>
    /// Why oneDNN's Winograd kernels (AVX-512 only) do not run here, with the fix where there is one.
    /// </summary>
    public static string WhyNoWinogradKernels() => Brgemm switch
    {
        null => NoOneDnnHeaders,
        false => "this CPU lacks AVX-512, which oneDNN 2.6's Winograd kernels need (its direct AVX2 kernels run instead)",
        true => "oneDNN turned them down on this CPU",
    };

    /// <summary>
    /// Why blocked activations (<see cref="BlockedActivation"/>) do not run here, with the fix where there is one.
    /// </summary>
    public static string WhyNoBlockedKernels() => Brgemm is null
        ? NoOneDnnHeaders
        : "oneDNN 2.6 has optimised kernels for its blocked layouts on AVX-512 (nChw16c) and AVX2 (nChw8c) only; this CPU has neither";

    private const string NoOneDnnHeaders =
        "this native shim was built without oneDNN's headers: apt-get install libdnnl-dev (scripts/bootstrap.sh), then rebuild";
}
