namespace Harness.Torch.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba), computed exactly as torch.optim.Adam's single-tensor path (PyTorch 1.13), so the same
/// gradients give the same parameters: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε). weight_decay adds λp to g (L2, not AdamW).
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _eps;
    private readonly double _weightDecay;
    private readonly Tensor?[] _expAvg;
    private readonly Tensor?[] _expAvgSq;
    private readonly long[] _steps;

    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 0) : base(parameters, lr)
    {
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "must be in [0, 1)");
        _beta1 = beta1;
        _beta2 = beta2;
        _eps = eps;
        _weightDecay = weight_decay;
        _expAvg = new Tensor?[Parameters.Count];
        _expAvgSq = new Tensor?[Parameters.Count];
        _steps = new long[Parameters.Count];
    }

    protected override void Update(int index, Tensor parameter, Tensor grad)
    {
        var m = _expAvg[index] ??= KeepState(torch.zeros_like(parameter));
        var v = _expAvgSq[index] ??= KeepState(torch.zeros_like(parameter));
        var step = ++_steps[index];
        if (_weightDecay != 0) grad = grad.add(parameter, _weightDecay);
        m.mul_(_beta1).add_(grad, 1 - _beta1);
        v.mul_(_beta2).addcmul_(grad, grad, 1 - _beta2);
        var biasCorrection1 = 1 - Math.Pow(_beta1, step);
        var biasCorrection2 = 1 - Math.Pow(_beta2, step);
        var stepSize = LearningRate / biasCorrection1;
        var denom = v.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(_eps);
        parameter.addcdiv_(m, denom, -stepSize);
    }

    public override void Dispose()
    {
        foreach (var t in _expAvg) t?.Dispose();
        foreach (var t in _expAvgSq) t?.Dispose();
        base.Dispose();
    }
}
