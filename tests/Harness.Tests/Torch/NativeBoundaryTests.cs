using Harness.Torch;
using Harness.Torch.Modules;
using Harness.Torch.Native;

namespace Harness.Tests.Torch;

/// <summary>
/// The native boundary refuses what would be undefined behaviour in C++ — a null operator handle, name, string or
/// device argument — with an error code and a message, never a crash; and a rectifier never overwrites the output of a
/// layer it does not know to return a new tensor.
/// </summary>
public sealed unsafe class NativeBoundaryTests
{
    private static string LastError() => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.mt_last_error()) ?? "";

    [Fact]
    public void NullOperatorHandleIsAnErrorCode()
    {
        Assert.NotEqual(0, NativeMethods.mt_op_call(0, null, 0, null, 0, out var count));
        Assert.Equal(0, count);
        Assert.Contains("null operator handle", LastError());
        Assert.NotEqual(0, NativeMethods.mt_op_schema(0, null, 0));
        Assert.Contains("null operator handle", LastError());
    }

    [Fact]
    public void NullOperatorNameIsAnErrorCode()
    {
        Assert.NotEqual(0, NativeMethods.mt_op_lookup(null!, "", out var handle));
        Assert.Equal(0, handle);
        Assert.Contains("null operator name", LastError());
    }

    [Theory]
    [InlineData(8, "null string argument")]  // ValueKind.String
    [InlineData(9, "null device argument")]  // ValueKind.Device
    public void NullStringOrDeviceArgumentIsAnErrorCode(int kind, string message)
    {
        // aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode): the third argument is a string.
        NativeMethods.Check(NativeMethods.mt_op_lookup("aten::div", "Tensor_mode", out var op));
        using var a = torch.ones(new long[] { 2 });
        var args = stackalloc NativeValue[3];
        args[0] = new NativeValue { Kind = ValueKind.Tensor, P = a.Handle };
        args[1] = new NativeValue { Kind = ValueKind.Tensor, P = a.Handle };
        args[2] = new NativeValue { Kind = (ValueKind)kind, P = 0 };
        var results = stackalloc NativeValue[1];
        Assert.NotEqual(0, NativeMethods.mt_op_call(op, args, 3, results, 1, out var count));
        Assert.Equal(0, count);
        Assert.Contains(message, LastError());
        Assert.StartsWith("aten::div", LastError()); // the operator is named
    }

    /// <summary>A layer the rectifier does not know, returning its own input when no graph is recorded.</summary>
    private sealed class PassThrough : Module
    {
        public override Tensor forward(Tensor input) => input.alias();
    }

    [Fact]
    public void ReluAfterAnUnknownLayerDoesNotOverwriteTheCallersTensor()
    {
        using var seq = new Sequential(new PassThrough(), new ReLU());
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { -1f, 2f, -3f, 7f });
        using (torch.no_grad())
        {
            TensorAssert.Values(new[] { 0f, 2f, 0f, 7f }, seq.forward(x));
            TensorAssert.Values(new[] { -1f, 2f, -3f, 7f }, x); // default-allow overwrote it with the ReLU's output
        }
    }
}
