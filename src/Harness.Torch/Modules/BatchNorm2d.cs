namespace Harness.Torch.Modules;

/// <summary>
/// Batch normalisation over channels (torch.nn.BatchNorm2d). In eval mode it is the affine map
/// y = (x − running_mean) / √(running_var + eps) · weight + bias; training mode uses batch statistics.
/// </summary>
public sealed class BatchNorm2d : Module
{
    private readonly object _foldLock = new();
    private ConvBatchNorm.Folded? _folded; // this BN folded into the conv before it (see ConvBatchNorm)

    public BatchNorm2d(long num_features, double eps = 1e-5, double momentum = 0.1)
    {
        NumFeatures = num_features;
        Eps = eps;
        Momentum = momentum;
        var shape = new[] { num_features };
        RegisterParameter("weight", torch.ones(shape));
        RegisterParameter("bias", torch.zeros(shape));
        RegisterBuffer("running_mean", torch.zeros(shape));
        RegisterBuffer("running_var", torch.ones(shape));
        RegisterBuffer("num_batches_tracked", torch.zeros(Array.Empty<long>(), ScalarType.Int64));
    }

    public long NumFeatures { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public Tensor weight => GetParameter("weight")!;
    public Tensor bias => GetParameter("bias")!;
    public Tensor running_mean => GetBuffer("running_mean")!;
    public Tensor running_var => GetBuffer("running_var")!;

    public override Tensor forward(Tensor input)
    {
        // A training pass updates the running statistics inside the kernel without bumping their version counters,
        // so a fold cached before it could not tell it is stale: drop it.
        if (training) ForgetFold();
        return torch.nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, Momentum, Eps);
    }

    /// <summary>The eval-mode affine map as per-channel (scale, shift): y = x·scale + shift.</summary>
    public (Tensor scale, Tensor shift) FoldedAffine()
    {
        using var scope = torch.NewDisposeScope();
        var scale = weight / (running_var + Eps).sqrt();
        var shift = bias - running_mean * scale;
        return (scale.detach().MoveToOuterDisposeScope(), shift.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The (weight, bias) of <paramref name="conv"/> with this eval-mode BN folded in, cached until a source tensor is
    /// replaced or changed in place (see <see cref="ConvBatchNorm"/>). This module owns the returned tensors.
    /// </summary>
    internal (Tensor Weight, Tensor Bias) FoldedInto(Conv2d conv)
    {
        var sources = ConvBatchNorm.Sources(conv, this);
        lock (_foldLock)
        {
            if (_folded is null || !_folded.IsCurrent(sources))
            {
                _folded?.Dispose();
                _folded = ConvBatchNorm.Fold(conv, this);
            }
            return (_folded.Weight, _folded.Bias);
        }
    }

    private void ForgetFold()
    {
        lock (_foldLock)
        {
            _folded?.Dispose();
            _folded = null;
        }
    }

    public override void Dispose()
    {
        ForgetFold();
        base.Dispose();
    }
}
