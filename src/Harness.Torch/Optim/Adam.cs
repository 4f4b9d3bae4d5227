namespace Harness.Torch.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba), computed exactly as torch.optim.Adam's single-tensor path (PyTorch 1.13), so the same
/// gradients give the same parameters: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε). weight_decay adds λp to g (L2, not AdamW).
/// </summary>
/// <remarks>
/// On the CPU a large parameter is updated slice by slice (<see cref="SliceElements"/>): the same elementwise operations
/// in the same order on each slice, but a slice's eight passes (nine with weight decay) run in the CPU's cache instead of
/// streaming a 400 MB weight (VGG-19's first classifier inverse) through memory eight times: that step drops from about
/// 0.85 s to 0.2 s on two cores. Every element gets the value the whole-tensor sequence gives, bit for bit: slicing
/// only moves which elements aten computes in its scalar loop instead of its vector loop, and on libtorch 1.13 both
/// loops give the same bits for these operations (AdamSliceTests checks it with slice edges off the vector width).
/// </remarks>
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

    /// <summary>
    /// Elements per slice of one update: 2¹⁸ floats are 1 MiB per tensor, so a slice's parameter, gradient, both moments
    /// and the temporary stay in cache across the passes, while each pass is still long enough to run on all threads.
    /// </summary>
    internal long SliceElements { get; init; } = 1 << 18;

    protected override void Update(int index, Tensor parameter, Tensor grad)
    {
        // The moments start as zeros; they are zeroed slice by slice below, which saves a pass over memory. Until a
        // first update completes (the step count is raised last), they are zeroed again.
        var fresh = _steps[index] == 0;
        var m = _expAvg[index] ??= KeepState(torch.empty_like(parameter));
        var v = _expAvgSq[index] ??= KeepState(torch.empty_like(parameter));
        var step = _steps[index] + 1;
        var stepSize = LearningRate / (1 - Math.Pow(_beta1, step));
        var sqrtBiasCorrection2 = Math.Sqrt(1 - Math.Pow(_beta2, step));

        var flat = FlatViews(parameter, grad, m, v);
        if (flat is null)
            UpdateSlice(parameter, grad, m, v, fresh, stepSize, sqrtBiasCorrection2);
        else
            for (long start = 0, n = parameter.numel(); start < n; start += SliceElements)
            {
                using var scope = torch.NewDisposeScope();
                var length = Math.Min(SliceElements, n - start);
                UpdateSlice(flat[0].narrow(0, start, length), flat[1].narrow(0, start, length), flat[2].narrow(0, start, length),
                    flat[3].narrow(0, start, length), fresh, stepSize, sqrtBiasCorrection2);
            }
        _steps[index] = step;
    }

    /// <summary>The update of one slice (or of a whole tensor): torch.optim.Adam's operations, in its order.</summary>
    private void UpdateSlice(Tensor parameter, Tensor grad, Tensor m, Tensor v, bool fresh, double stepSize, double sqrtBiasCorrection2)
    {
        if (fresh)
        {
            m.zero_();
            v.zero_();
        }
        if (_weightDecay != 0) grad = grad.add(parameter, _weightDecay);
        m.mul_(_beta1).add_(grad, 1 - _beta1);
        v.mul_(_beta2).addcmul_(grad, grad, 1 - _beta2);
        var denom = v.sqrt().div_(sqrtBiasCorrection2).add_(_eps);
        parameter.addcdiv_(m, denom, -stepSize);
    }

    /// <summary>
    /// One-dimensional views of the four tensors in memory order when they share one dense layout (contiguous or
    /// channels-last), are larger than a slice and live on the CPU; null otherwise (the update then runs on the whole
    /// tensors).
    /// </summary>
    private Tensor[]? FlatViews(Tensor parameter, Tensor grad, Tensor m, Tensor v)
    {
        // On a GPU each slice would cost kernel launches and no cache is won: one pass per operation there.
        if (parameter.numel() <= SliceElements || parameter.device.IsCuda) return null;
        var all = new[] { parameter, grad, m, v };
        if (all.All(t => t.is_contiguous())) return all.Select(t => t.view(-1)).ToArray();
        if (parameter.dim() == 4 && all.All(t => t.is_contiguous(MemoryFormat.ChannelsLast)))
            return all.Select(t => t.permute(0, 2, 3, 1).view(-1)).ToArray();
        return null;
    }

    public override void Dispose()
    {
        foreach (var t in _expAvg) t?.Dispose();
        foreach (var t in _expAvgSq) t?.Dispose();
        base.Dispose();
    }
}
