namespace Harness.Torch.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay,
/// computed as torch.optim.SGD: b ← μb + (1−τ)g (b = g on the first step); p ← p − lr·(g + μb if nesterov else b).
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly double _momentum;
    private readonly double _dampening;
    private readonly double _weightDecay;
    private readonly bool _nesterov;
    private readonly Tensor?[] _buffers;

    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
        double weight_decay = 0, bool nesterov = false) : base(parameters, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
        _momentum = momentum;
        _dampening = dampening;
        _weightDecay = weight_decay;
        _nesterov = nesterov;
        _buffers = new Tensor?[Parameters.Count];
    }

    protected override void Update(int index, Tensor parameter, Tensor grad)
    {
        var d = grad;
        if (_weightDecay != 0) d = d.add(parameter, _weightDecay);
        if (_momentum != 0)
        {
            var buffer = _buffers[index];
            if (buffer is null) buffer = _buffers[index] = KeepState(d.clone());
            else buffer.mul_(_momentum).add_(d, 1 - _dampening);
            d = _nesterov ? d.add(buffer, _momentum) : buffer;
        }
        parameter.add_(d, -LearningRate);
    }

    public override void Dispose()
    {
        foreach (var t in _buffers) t?.Dispose();
        base.Dispose();
    }
}
