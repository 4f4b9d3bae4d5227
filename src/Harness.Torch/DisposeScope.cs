namespace Harness.Torch;

/// <summary>
/// Frees native tensor memory deterministically, like TorchSharp's <c>NewDisposeScope</c>: every tensor created
/// on this thread while the scope is the innermost one is disposed when the scope is disposed, unless it was moved
/// out with <see cref="Tensor.MoveToOuterDisposeScope"/> or <see cref="Tensor.DetachFromDisposeScope"/>.
/// <code>
/// using (torch.NewDisposeScope())
/// {
///     var y = model.forward(x);          // intermediates die with the scope
///     result = y.argmax(1).MoveToOuterDisposeScope();
/// }
/// </code>
/// Finalizers remain as a safety net only: long runs must not rely on the garbage collector to free tensors.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? s_current;

    private readonly List<Tensor> _tensors = new();
    private bool _disposed;

    internal DisposeScope()
    {
        Outer = s_current;
        s_current = this;
    }

    /// <summary>The innermost scope on this thread, or null.</summary>
    public static DisposeScope? Current => s_current;

    /// <summary>The scope that was current when this one was created.</summary>
    public DisposeScope? Outer { get; }

    /// <summary>Number of live tensors this scope will dispose.</summary>
    public int Count
    {
        get
        {
            var n = 0;
            foreach (var t in _tensors)
                if (ReferenceEquals(t.OwningScope, this) && !t.IsDisposed) n++;
            return n;
        }
    }

    internal void Add(Tensor tensor)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DisposeScope));
        tensor.OwningScope = this;
        _tensors.Add(tensor);
    }

    /// <summary>Disposes every tensor still owned by this scope and makes the outer scope current again.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _tensors)
            if (ReferenceEquals(t.OwningScope, this)) t.Dispose();
        _tensors.Clear();
        // Scopes nest strictly; restore the outer one even if inner scopes were leaked.
        if (ReferenceEquals(s_current, this) || (s_current is not null && IsInner(s_current))) s_current = Outer;
    }

    private bool IsInner(DisposeScope scope)
    {
        for (var s = scope.Outer; s is not null; s = s.Outer)
            if (ReferenceEquals(s, this)) return true;
        return false;
    }
}
