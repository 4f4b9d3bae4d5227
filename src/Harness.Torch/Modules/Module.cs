namespace Harness.Torch.Modules;

/// <summary>
/// A network building block in the style of torch.nn.Module: named parameters and buffers, child modules, a
/// state dict whose keys and order match PyTorch's (own parameters, own buffers, then children, each in
/// registration order), train/eval mode and device moves. A module owns its tensors: Dispose frees them.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor Value)> _parameters = new();
    private readonly List<(string Name, Tensor Value)> _buffers = new();
    private readonly List<(string Name, Module Value)> _children = new();

    /// <summary>Computes the module's output.</summary>
    public abstract Tensor forward(Tensor input);

    /// <summary>Training mode (dropout active, batch norm uses batch statistics). Modules start in eval mode here.</summary>
    public bool training { get; private set; }

    public Module train(bool mode = true)
    {
        training = mode;
        foreach (var (_, child) in _children) child.train(mode);
        return this;
    }

    public Module eval() => train(false);

    /// <summary>Registers a trainable tensor; the module takes ownership.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        using (torch.no_grad()) value.requires_grad = true;
        _parameters.Add((name, value.DetachFromDisposeScope()));
        return value;
    }

    /// <summary>Registers a non-trainable tensor that is part of the state dict (running statistics ...).</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        _buffers.Add((name, value.DetachFromDisposeScope()));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/> (its keys get the "name." prefix).</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>The direct children in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> named_children() => _children;

    /// <summary>Every module below (and including) this one, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> named_modules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.named_modules(Join(prefix, name)))
                yield return item;
    }

    public IEnumerable<(string Name, Tensor Parameter)> named_parameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (Join(prefix, name), p);
        foreach (var (name, child) in _children)
            foreach (var item in child.named_parameters(Join(prefix, name)))
                yield return item;
    }

    public IEnumerable<Tensor> parameters() => named_parameters().Select(p => p.Parameter);

    /// <summary>Parameters and buffers with PyTorch's state-dict keys, in PyTorch's order.</summary>
    public IEnumerable<(string Name, Tensor Value)> named_state(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (Join(prefix, name), p);
        foreach (var (name, b) in _buffers) yield return (Join(prefix, name), b);
        foreach (var (name, child) in _children)
            foreach (var item in child.named_state(Join(prefix, name)))
                yield return item;
    }

    /// <summary>
    /// Copies a checkpoint into this module, requiring exactly the same keys and shapes (torch's strict mode):
    /// otherwise throws a CheckpointException listing missing, unexpected and mis-shaped tensors.
    /// </summary>
    public void load_state_dict(StateDict state, string? modelName = null)
    {
        var targets = named_state().ToList();
        state.CheckMatches(targets.Select(t => (t.Name, t.Value.shape)), modelName ?? GetType().Name);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (name, target) in targets)
        {
            var source = state[name];
            if (source.dtype != target.dtype && !(source.dtype.IsFloatingPoint() && target.dtype.IsFloatingPoint()))
                throw new Serialization.CheckpointException(state.Source ?? "(in memory)",
                    $"{name} holds {source.dtype}, the model expects {target.dtype}");
            target.copy_(source);
        }
    }

    /// <summary>A state dict holding copies of this module's tensors (on the CPU).</summary>
    public StateDict state_dict()
    {
        var dict = new StateDict();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope(); // frees the detach/cpu temporaries; Add takes the clones out
        foreach (var (name, t) in named_state()) dict.Add(name, t.detach().cpu().clone());
        return dict;
    }

    /// <summary>Moves every parameter and buffer to <paramref name="device"/>.</summary>
    public Module to(Device device) => Convert(t => t.to(device));

    /// <summary>
    /// Lays out every 4-D parameter and buffer (convolution weights) as <paramref name="memory_format"/>, like
    /// PyTorch's module.to(memory_format=...); other tensors are unchanged.
    /// </summary>
    public Module to(MemoryFormat memory_format) => Convert(t => t.ndim == 4 ? t.contiguous(memory_format) : t.alias());

    // Replaces every parameter and buffer (here and in children) by convert(old), keeping requires_grad.
    private Module Convert(Func<Tensor, Tensor> convert)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope(); // frees the intermediate handles
        for (var i = 0; i < _parameters.Count; i++)
        {
            var (name, old) = _parameters[i];
            var moved = convert(old).detach().DetachFromDisposeScope();
            moved.requires_grad = old.requires_grad;
            _parameters[i] = (name, moved);
            old.Dispose(); // every handle is its own reference; the data lives on in `moved` if it did not change
        }
        for (var i = 0; i < _buffers.Count; i++)
        {
            var (name, old) = _buffers[i];
            var moved = convert(old).alias().DetachFromDisposeScope();
            _buffers[i] = (name, moved);
            old.Dispose();
        }
        foreach (var (_, child) in _children) child.Convert(convert);
        return this;
    }

    /// <summary>A registered parameter by name, or null (layers read their weights through this, so moves are seen).</summary>
    protected Tensor? GetParameter(string name)
    {
        foreach (var (n, p) in _parameters)
            if (n == name) return p;
        return null;
    }

    /// <summary>A registered buffer by name, or null.</summary>
    protected Tensor? GetBuffer(string name)
    {
        foreach (var (n, b) in _buffers)
            if (n == name) return b;
        return null;
    }

    /// <summary>Sets requires_grad on every parameter (false freezes the module).</summary>
    public Module requires_grad_(bool value)
    {
        foreach (var p in parameters()) p.requires_grad = value;
        return this;
    }

    public virtual void Dispose()
    {
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var (_, b) in _buffers) b.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";
}
