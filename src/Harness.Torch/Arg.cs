using Harness.Torch.Native;

namespace Harness.Torch;

/// <summary>
/// One positional argument of a boxed operator call. Implicit conversions let typed wrappers pass tensors,
/// numbers and lists directly: <c>Ops.Conv2d.Call(input, weight, bias, stride, padding)</c>.
/// </summary>
public readonly struct Arg
{
    internal readonly ValueKind Kind;
    internal readonly long Int;
    internal readonly double Double;
    internal readonly object? Reference;

    private Arg(ValueKind kind, long i = 0, double d = 0, object? reference = null)
    {
        Kind = kind;
        Int = i;
        Double = d;
        Reference = reference;
    }

    /// <summary>Python's None: an absent optional argument.</summary>
    public static Arg None => default;

    public static implicit operator Arg(Tensor? t) => t is null ? None : new(ValueKind.Tensor, reference: t);
    public static implicit operator Arg(long v) => new(ValueKind.Int, i: v);
    public static implicit operator Arg(int v) => new(ValueKind.Int, i: v);
    public static implicit operator Arg(double v) => new(ValueKind.Double, d: v);
    public static implicit operator Arg(bool v) => new(ValueKind.Bool, i: v ? 1 : 0);
    public static implicit operator Arg(long[]? v) => v is null ? None : new(ValueKind.IntList, reference: v);
    public static implicit operator Arg(double[]? v) => v is null ? None : new(ValueKind.DoubleList, reference: v);
    public static implicit operator Arg(Tensor[] v) => new(ValueKind.TensorList, reference: v);
    public static implicit operator Arg(string? v) => v is null ? None : new(ValueKind.String, reference: v);
    public static implicit operator Arg(ScalarType v) => new(ValueKind.Int, i: (long)v);

    /// <summary>An optional dtype argument (ScalarType?).</summary>
    public static Arg Dtype(ScalarType? v) => v is null ? None : new(ValueKind.Int, i: (long)v.Value);

    /// <summary>An optional number (int? / float? / Scalar?).</summary>
    public static Arg Optional(double? v) => v is null ? None : new(ValueKind.Double, d: v.Value);

    /// <summary>An optional integer.</summary>
    public static Arg Optional(long? v) => v is null ? None : new(ValueKind.Int, i: v.Value);

    public static Arg Of(Device? device) => device is null ? None : new(ValueKind.Device, reference: device.Value.ToString());

    /// <summary>An optional Generator argument (null = the device's default generator).</summary>
    public static Arg Of(Generator? generator) => generator is null ? None : new(ValueKind.Generator, reference: generator);

    public static Arg Bools(bool[] v) => new(ValueKind.BoolList, reference: Array.ConvertAll(v, b => b ? (byte)1 : (byte)0));

    /// <summary>A Tensor?[] argument, as aten::index takes; null entries mean "all of this dimension".</summary>
    public static Arg OptionalTensors(Tensor?[] v) => new(ValueKind.OptionalTensorList, reference: v);
}
