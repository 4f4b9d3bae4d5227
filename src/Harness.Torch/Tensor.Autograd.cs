using Harness.Torch.Native;

namespace Harness.Torch;

// Autograd: gradient tracking, backward, gradients.
public sealed partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor. Setting it only works on leaf tensors.</summary>
    public bool requires_grad
    {
        get
        {
            NativeMethods.Check(NativeMethods.mt_tensor_requires_grad(Handle, out var v));
            GC.KeepAlive(this);
            return v != 0;
        }
        set
        {
            NativeMethods.Check(NativeMethods.mt_tensor_set_requires_grad(Handle, value ? 1 : 0));
            GC.KeepAlive(this);
        }
    }

    /// <summary>Sets <see cref="requires_grad"/> and returns this tensor.</summary>
    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool is_leaf
    {
        get
        {
            NativeMethods.Check(NativeMethods.mt_tensor_is_leaf(Handle, out var v));
            return v != 0;
        }
    }

    /// <summary>
    /// The accumulated gradient, or null before any backward pass. Each read returns a new handle to the same
    /// gradient tensor (dispose it, or let the dispose scope do so).
    /// </summary>
    public Tensor? grad
    {
        get
        {
            NativeMethods.Check(NativeMethods.mt_tensor_grad(Handle, out var g));
            GC.KeepAlive(this);
            return FromOptionalHandle(g);
        }
        set
        {
            NativeMethods.Check(NativeMethods.mt_tensor_set_grad(Handle, value?.Handle ?? 0));
            GC.KeepAlive(this);
            GC.KeepAlive(value);
        }
    }

    /// <summary>
    /// Accumulates d(this)/d(leaf) into every leaf's <see cref="grad"/>. A non-scalar tensor needs
    /// <paramref name="gradient"/> (the vector in the vector-Jacobian product).
    /// </summary>
    public unsafe void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false)
    {
        var output = Handle;
        var g = gradient?.Handle ?? 0;
        NativeMethods.Check(NativeMethods.mt_backward(&output, &g, 1, retain_graph ? 1 : 0, create_graph ? 1 : 0));
        GC.KeepAlive(this);
        GC.KeepAlive(gradient);
    }
}

public static partial class torch
{
    /// <summary>Functional autograd, as torch.autograd.</summary>
    public static class autograd
    {
        /// <summary>
        /// Gradients of <paramref name="outputs"/> (weighted by <paramref name="grad_outputs"/>) with respect to
        /// <paramref name="inputs"/>, without touching any <c>.grad</c>. An input the outputs do not depend on
        /// gives null when <paramref name="allow_unused"/> is true.
        /// </summary>
        public static unsafe Tensor?[] grad(Tensor[] outputs, Tensor[] inputs, Tensor?[]? grad_outputs = null,
            bool retain_graph = false, bool create_graph = false, bool allow_unused = false)
        {
            if (grad_outputs is not null && grad_outputs.Length != outputs.Length)
                throw new ArgumentException($"{grad_outputs.Length} grad_outputs for {outputs.Length} outputs", nameof(grad_outputs));
            var outs = Array.ConvertAll(outputs, t => t.Handle);
            var ins = Array.ConvertAll(inputs, t => t.Handle);
            var gs = grad_outputs is null ? null : Array.ConvertAll(grad_outputs, t => t?.Handle ?? 0);
            var results = new nint[inputs.Length];
            fixed (nint* o = outs)
            fixed (nint* i = ins)
            fixed (nint* g = gs)
            fixed (nint* r = results)
                NativeMethods.Check(NativeMethods.mt_autograd_grad(o, g, outs.Length, i, ins.Length,
                    retain_graph ? 1 : 0, create_graph ? 1 : 0, allow_unused ? 1 : 0, r));
            GC.KeepAlive(outputs);
            GC.KeepAlive(inputs);
            GC.KeepAlive(grad_outputs);
            return Array.ConvertAll(results, Tensor.FromOptionalHandle);
        }
    }
}
