namespace Harness.Reports;

/// <summary>
/// The "inferno" colormap (black → purple → orange → pale yellow) for heatmaps. Saliency papers often use "jet",
/// but jet's luminance is not monotone, so it invents edges and hides structure; inferno's luminance rises
/// monotonically and it stays readable in greyscale and for colour-blind readers.
/// </summary>
public static class Colormap
{
    /// <summary>
    /// 256 RGB entries, 6 hex digits each: matplotlib's <c>_inferno_data</c> (matplotlib 3.6,
    /// lib/matplotlib/_cm_listed.py; by Nathaniel J. Smith and Stéfan van der Walt, released under CC0) rounded to
    /// bytes. Copying the published table keeps our maps identical to <c>plt.cm.inferno</c>; the usual polynomial
    /// fits are off by up to ~9 levels.
    /// </summary>
    private const string InfernoHex =
        "00000401000501010601010802010A02020C02020E03021004031204031405041706041907051B08051D09061F0A0722" +
        "0B07240C08260D08290E092B10092D110A30120A32140B34150B37160B39180C3C190C3E1B0C411C0C431E0C451F0C48" +
        "210C4A230C4C240C4F260C51280B53290B552B0B572D0B592F0A5B310A5C320A5E340A5F3609613809623909633B0964" +
        "3D09653E0966400A67420A68440A68450A69470B6A490B6A4A0C6B4C0C6B4D0D6C4F0D6C510E6C520E6D540F6D550F6D" +
        "57106E59106E5A116E5C126E5D126E5F136E61136E62146E64156E65156E67166E69166E6A176E6C186E6D186E6F196E" +
        "71196E721A6E741A6E751B6E771C6D781C6D7A1D6D7C1D6D7D1E6D7F1E6C801F6C82206C84206B85216B87216B88226A" +
        "8A226A8C23698D23698F24699025689225689326679526679727669827669A28659B29649D29649F2A63A02A63A22B62" +
        "A32C61A52C60A62D60A82E5FA92E5EAB2F5EAD305DAE305CB0315BB1325AB3325AB43359B63458B73557B93556BA3655" +
        "BC3754BD3853BF3952C03A51C13A50C33B4FC43C4EC63D4DC73E4CC83F4BCA404ACB4149CC4248CE4347CF4446D04545" +
        "D24644D34743D44842D54A41D74B3FD84C3ED94D3DDA4E3CDB503BDD513ADE5238DF5337E05536E15635E25734E35933" +
        "E45A31E55C30E65D2FE75E2EE8602DE9612BEA632AEB6429EB6628EC6726ED6925EE6A24EF6C23EF6E21F06F20F1711F" +
        "F1731DF2741CF3761BF37819F47918F57B17F57D15F67E14F68013F78212F78410F8850FF8870EF8890CF98B0BF98C0A" +
        "F98E09FA9008FA9207FA9407FB9606FB9706FB9906FB9B06FB9D07FC9F07FCA108FCA309FCA50AFCA60CFCA80DFCAA0F" +
        "FCAC11FCAE12FCB014FCB216FCB418FBB61AFBB81DFBBA1FFBBC21FBBE23FAC026FAC228FAC42AFAC62DF9C72FF9C932" +
        "F9CB35F8CD37F8CF3AF7D13DF7D340F6D543F6D746F5D949F5DB4CF4DD4FF4DF53F4E156F3E35AF3E55DF2E661F2E865" +
        "F2EA69F1EC6DF1ED71F1EF75F1F179F2F27DF2F482F3F586F3F68AF4F88EF5F992F6FA96F8FB9AF9FC9DFAFDA1FCFFA4";

    private static readonly byte[] Table = Convert.FromHexString(InfernoHex);

    /// <summary>Number of entries in the table.</summary>
    public const int Size = 256;

    /// <summary>
    /// The colour for <paramref name="t"/> in [0, 1] (values outside are clamped; NaN maps to black, so missing
    /// values never look like low or high attribution).
    /// </summary>
    public static (byte R, byte G, byte B) Map(float t)
    {
        if (float.IsNaN(t)) return (0, 0, 0);
        // matplotlib's lookup: floor(t * N), with t = 1 folded into the last entry (each entry covers an equal bin).
        var index = Math.Min((int)(Math.Clamp(t, 0f, 1f) * Size), Size - 1);
        return (Table[3 * index], Table[3 * index + 1], Table[3 * index + 2]);
    }
}
