namespace Harness.Torch.Optim;

/// <summary>
/// Base of the gradient-descent optimizers: holds the parameters (leaf tensors with requires_grad) and
/// per-parameter state. Updates run under no_grad and in place, like torch.optim.
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be non-negative");
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0) throw new ArgumentException("the optimizer got an empty parameter list", nameof(parameters));
        LearningRate = lr;
    }

    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The learning rate; may be changed between steps (schedules).</summary>
    public double LearningRate { get; set; }

    /// <summary>Sets every parameter's gradient to none (PyTorch ≥ 2.0 default: set_to_none=True).</summary>
    public void zero_grad()
    {
        foreach (var p in Parameters) p.grad = null;
    }

    /// <summary>Applies one update using the gradients currently stored on the parameters.</summary>
    public void step()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is null) continue;
            Update(i, Parameters[i], grad);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place from its gradient.</summary>
    protected abstract void Update(int index, Tensor parameter, Tensor grad);

    /// <summary>Creates a state tensor that outlives the dispose scope of <see cref="step"/>.</summary>
    protected static Tensor KeepState(Tensor t) => t.DetachFromDisposeScope();

    /// <summary>Frees the optimizer's state tensors.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
