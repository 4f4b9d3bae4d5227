namespace Harness.Torch.Modules;

/// <summary>
/// Children named "0", "1", ... applied in order (torch.nn.Sequential). Frozen conv + eval BN pairs run folded
/// (<see cref="ConvBatchNorm"/>), ReLUs overwrite activations this container made where that is safe
/// (<see cref="Rectifier"/>; after a convolution, inside it where the shim can: <see cref="Rectifier.AfterConvolution"/>),
/// and each intermediate is freed once the next layer has consumed it.
/// </summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    public Sequential(params Module[] layers)
    {
        foreach (var layer in layers) Append(layer);
    }

    public Sequential Append(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    public int Count => _layers.Count;
    public Module this[int index] => _layers[index];
    public IReadOnlyList<Module> Layers => _layers;

    public override Tensor forward(Tensor input) => ForwardFirst(input, _layers.Count);

    /// <summary>
    /// The output of the first <paramref name="count"/> layers, run as <see cref="forward"/> runs them (a block that
    /// handles its last layers itself, e.g. MobileNetV2's inverted residual adding its input inside its projection).
    /// </summary>
    public Tensor ForwardFirst(Tensor input, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _layers.Count);
        var x = input;
        for (var i = 0; i < count; i++)
        {
            var previous = x;
            var producer = i > 0 ? _layers[i - 1] : null;
            var fused = ConvolutionFusion.TryForward(_layers, i, count - 1, x, static _ => false, out var convolved);
            if (fused > 0)
            {
                x = convolved;
                i += fused - 1; // the BN ran folded into the convolution, the rectifier in place after it (or inside it)
            }
            else if (!ReferenceEquals(x, input) && Rectifier.MayOverwriteOutputOf(producer) && Rectifier.TryInPlace(_layers[i], x, out var rectified))
                x = rectified;
            else
                x = _layers[i].forward(x);
            // Free what this container made as soon as it is consumed (as Python's reference counting does) rather than
            // when the caller's dispose scope ends; autograd keeps what backward needs through its own references.
            if (!ReferenceEquals(previous, input) && !ReferenceEquals(previous, x)) previous.Dispose();
        }
        return ReferenceEquals(x, input) ? input.alias() : x;
    }
}
