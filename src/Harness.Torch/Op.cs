using System.Runtime.InteropServices;
using System.Text;
using Harness.Torch.Native;

namespace Harness.Torch;

/// <summary>
/// An ATen operator called through the native shim's boxed dispatcher entry point, e.g.
/// <c>new Op("aten::conv2d")</c>. The operator handle is looked up once and cached. Trailing arguments with a
/// schema default may be omitted.
/// </summary>
public sealed unsafe class Op
{
    private const int MaxInlineResults = 8;
    private nint _handle;

    public Op(string name, string overload = "")
    {
        Name = name;
        Overload = overload;
    }

    public string Name { get; }
    public string Overload { get; }

    private nint Handle
    {
        get
        {
            if (_handle != 0) return _handle;
            NativeMethods.EnsureLoaded();
            NativeMethods.Check(NativeMethods.mt_op_lookup(Name, Overload, out var h));
            // Lookups are idempotent; a race only leaks one tiny handle.
            _handle = h;
            return h;
        }
    }

    /// <summary>The operator's schema as libtorch prints it (handy in error messages and docs).</summary>
    public string Schema
    {
        get
        {
            var h = Handle;
            return NativeMethods.ReadString((buf, cap) => NativeMethods.mt_op_schema(h, (byte*)buf, cap));
        }
    }

    /// <summary>Calls an operator that returns one tensor.</summary>
    public Tensor Call(params ReadOnlySpan<Arg> args)
    {
        Span<NativeValue> results = stackalloc NativeValue[MaxInlineResults];
        var n = Invoke(args, results);
        return n == 1 && results[0].Kind == ValueKind.Tensor
            ? Tensor.FromHandle(results[0].P)
            : throw Unexpected(results[..n], "one tensor");
    }

    /// <summary>Calls an operator that returns two tensors (values and indices, output and switches, ...).</summary>
    public (Tensor, Tensor) Call2(params ReadOnlySpan<Arg> args)
    {
        Span<NativeValue> results = stackalloc NativeValue[MaxInlineResults];
        var n = Invoke(args, results);
        if (n != 2 || results[0].Kind != ValueKind.Tensor || results[1].Kind != ValueKind.Tensor)
            throw Unexpected(results[..n], "two tensors");
        return (Tensor.FromHandle(results[0].P), Tensor.FromHandle(results[1].P));
    }

    /// <summary>Calls an operator that returns a list of tensors (at most <paramref name="maxResults"/>).</summary>
    public Tensor[] CallList(int maxResults, params ReadOnlySpan<Arg> args)
    {
        var results = new NativeValue[Math.Max(maxResults, 1)];
        var n = Invoke(args, results);
        // Check every result before wrapping any, so an unexpected one frees all handles exactly once.
        for (var i = 0; i < n; i++)
            if (results[i].Kind != ValueKind.Tensor || results[i].P == 0) throw Unexpected(results[..n], "defined tensors");
        var tensors = new Tensor[n];
        var wrapped = 0;
        try
        {
            for (; wrapped < n; wrapped++) tensors[wrapped] = Tensor.FromHandle(results[wrapped].P);
        }
        catch
        {
            // Free what was wrapped (through its owner) and the handles not wrapped yet, each exactly once.
            for (var i = 0; i < wrapped; i++) tensors[i].Dispose();
            for (var i = wrapped; i < n; i++) NativeMethods.mt_tensor_free(results[i].P);
            throw;
        }
        return tensors;
    }

    /// <summary>Calls an in-place operator (name ending in '_') and returns <paramref name="self"/>.</summary>
    public Tensor CallInPlace(Tensor self, params ReadOnlySpan<Arg> rest)
    {
        var args = new Arg[rest.Length + 1];
        args[0] = self;
        rest.CopyTo(args.AsSpan(1));
        Span<NativeValue> results = stackalloc NativeValue[MaxInlineResults];
        var n = Invoke(args, results);
        // The operator returns an alias of self; drop that extra handle.
        for (var i = 0; i < n; i++)
            if (results[i].Kind == ValueKind.Tensor && results[i].P != 0) NativeMethods.mt_tensor_free(results[i].P);
        return self;
    }

    /// <summary>Calls an operator that returns a number or bool.</summary>
    public double CallScalar(params ReadOnlySpan<Arg> args)
    {
        Span<NativeValue> results = stackalloc NativeValue[MaxInlineResults];
        var n = Invoke(args, results);
        if (n != 1) throw Unexpected(results[..n], "one number");
        return results[0].Kind switch
        {
            ValueKind.Int or ValueKind.Bool => results[0].I,
            ValueKind.Double => results[0].D,
            _ => throw Unexpected(results[..n], "one number"),
        };
    }

    private int Invoke(ReadOnlySpan<Arg> args, Span<NativeValue> results)
    {
        var handle = Handle;
        Span<NativeValue> values = args.Length <= 16 ? stackalloc NativeValue[args.Length] : new NativeValue[args.Length];
        var pins = new List<GCHandle>();
        var strings = new List<nint>();
        try
        {
            for (var i = 0; i < args.Length; i++) values[i] = Marshal(args[i], pins, strings);
            long count;
            int status;
            fixed (NativeValue* a = values)
            fixed (NativeValue* r = results)
                status = NativeMethods.mt_op_call(handle, a, args.Length, r, results.Length, out count);
            NativeMethods.Check(status);
            return (int)count;
        }
        finally
        {
            foreach (var p in pins) p.Free();
            foreach (var s in strings) System.Runtime.InteropServices.Marshal.FreeCoTaskMem(s);
            // Keep every tensor argument alive until the native call has returned.
            foreach (var a in args) GC.KeepAlive(a.Reference);
        }
    }

    private static NativeValue Marshal(in Arg arg, List<GCHandle> pins, List<nint> strings)
    {
        var v = new NativeValue { Kind = arg.Kind, I = arg.Int, D = arg.Double };
        switch (arg.Kind)
        {
            case ValueKind.Tensor:
                v.P = ((Tensor)arg.Reference!).Handle;
                break;
            case ValueKind.IntList or ValueKind.DoubleList or ValueKind.BoolList:
                var array = (Array)arg.Reference!;
                var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
                pins.Add(pin);
                v.P = pin.AddrOfPinnedObject();
                v.N = array.Length;
                break;
            case ValueKind.TensorList or ValueKind.OptionalTensorList:
                var tensors = (Tensor?[])arg.Reference!;
                var handles = new nint[tensors.Length];
                for (var i = 0; i < tensors.Length; i++) handles[i] = tensors[i]?.Handle ?? 0;
                var hp = GCHandle.Alloc(handles, GCHandleType.Pinned);
                pins.Add(hp);
                v.P = hp.AddrOfPinnedObject();
                v.N = handles.Length;
                break;
            case ValueKind.Generator:
                v.P = ((Generator)arg.Reference!).Handle;
                break;
            case ValueKind.String or ValueKind.Device:
                var s = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8((string)arg.Reference!);
                strings.Add(s);
                v.P = s;
                break;
        }
        return v;
    }

    private Exception Unexpected(ReadOnlySpan<NativeValue> results, string expected)
    {
        var kinds = new StringBuilder();
        foreach (var r in results)
        {
            kinds.Append(r.Kind).Append(' ');
            if (r.Kind == ValueKind.Tensor && r.P != 0) NativeMethods.mt_tensor_free(r.P);
        }
        return new TorchException($"{Name}: expected {expected}, got [{kinds.ToString().TrimEnd()}]", TorchStatus.InvalidArgument);
    }
}
