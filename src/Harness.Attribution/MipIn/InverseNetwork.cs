using Harness.Models;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>
/// The MIP-IN inverse network of a frozen classifier from its output down to a chosen layer k: one
/// <see cref="InverseLayer"/> per stage above k. A signal at stage l's output is first multiplied by the sample's
/// forward indicator 1[X_l &gt; 0] when stage l ends in a rectifier (ReLU, ReLU6, ResNet blocks), then mapped by
/// g_l to stage l's input: S_{l-1} = g_l(S_l ⊙ 1[X_l &gt; 0]). The signal returned at layer k is masked the same way.
/// </summary>
public sealed class InverseNetwork : Module
{
    private readonly List<(int Stage, InverseLayer Inverse)> _inverses = new();

    private InverseNetwork(ClassifierModel model, string layer)
    {
        Model = model;
        Layer = layer;
        LayerIndex = model.IndexOf(layer);
    }

    public ClassifierModel Model { get; }

    /// <summary>The layer k where inversion stops and the map is read.</summary>
    public string Layer { get; }

    public int LayerIndex { get; }

    /// <summary>Inverse layers from the output down, with the index of the stage each inverts.</summary>
    public IReadOnlyList<(int Stage, InverseLayer Inverse)> Inverses => _inverses;

    /// <summary>Names of the stages whose outputs an inversion reads (k, ..., last).</summary>
    public IReadOnlyList<string> RequiredStages => _requiredStages ??= RequiredStagesOf(Model, Layer);

    private IReadOnlyList<string>? _requiredStages;

    /// <summary>The stages whose outputs inverting <paramref name="model"/> down to <paramref name="layer"/> reads (k, ..., last).</summary>
    public static IReadOnlyList<string> RequiredStagesOf(ClassifierModel model, string layer) =>
        model.Stages.Skip(model.IndexOf(layer)).Select(s => s.Name).ToList();

    /// <summary>
    /// Builds the inverse of every stage above <paramref name="layer"/>, initialised from the forward weights.
    /// <paramref name="probe"/> (one input batch) gives the shapes residual-block inverses need.
    /// </summary>
    public static InverseNetwork Create(ClassifierModel model, string layer, Tensor probe, bool proportionalPooling = false)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // Only the outputs from layer k up are read (each inverse needs its stage's input and output).
        var (_, outputs) = model.Capture(probe, RequiredStagesOf(model, layer));
        return Create(model, layer, outputs, proportionalPooling);
    }

    /// <summary>
    /// Builds the inverse from forward activations already at hand (stage name → output for every stage from
    /// <paramref name="layer"/> up, as <see cref="RequiredStages"/> names them), so no extra forward pass is run.
    /// </summary>
    /// <param name="proportionalPooling">Average pooling spreads in proportion to the forward input (<see cref="AveragePoolInverse.Proportional"/>).</param>
    public static InverseNetwork Create(ClassifierModel model, string layer, IReadOnlyDictionary<string, Tensor> outputs,
        bool proportionalPooling = false)
    {
        var net = new InverseNetwork(model, layer);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (var i = model.Stages.Count - 1; i > net.LayerIndex; i--)
        {
            var stage = model.Stages[i];
            var input = outputs[model.Stages[i - 1].Name];
            var inverse = CreateInverse(stage, input, outputs[stage.Name], proportionalPooling);
            net._inverses.Add((i, net.RegisterModule(stage.Name, inverse)));
        }
        return net;
    }

    private static InverseLayer CreateInverse(Stage stage, Tensor input, Tensor output, bool proportionalPooling) => stage.Module switch
    {
        Linear linear => new LinearInverse(linear),
        Conv2d conv => new ConvInverse(conv),
        BatchNorm2d bn => new BatchNormInverse(bn),
        MaxPool2d pool => new MaxUnpoolInverse(pool),
        AvgPool2d or AdaptiveAvgPool2d => new AveragePoolInverse(stage.Module, proportionalPooling),
        Flatten => new ReshapeInverse(),
        ReLU or ReLU6 or Dropout or Identity => new IdentityInverse(),
        ResidualBlock block => new ResidualBlockInverse(block, input.size(1), output.size(1),
            (input.size(2) + output.size(2) - 1) / output.size(2)), // ceil: a stride-2 block maps 15 → 8
        _ => throw new NotSupportedException(
            $"MIP-IN has no inverse for stage {stage.Name} ({stage.Module.GetType().Name}); supported: Linear, Conv2d, BatchNorm2d, " +
            "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, ReLU, ReLU6, Dropout, Identity and residual blocks"),
    };

    /// <summary>Whether a stage's output is rectified, so its forward indicator gates the signal.</summary>
    public static bool IsRectified(Module stage) => stage is ReLU or ReLU6 or BasicBlock or Bottleneck;

    /// <summary>S ⊙ 1[X &gt; 0] for rectified stages, else S.</summary>
    public Tensor Gate(int stage, Tensor signal, Tensor output)
    {
        if (!IsRectified(Model.Stages[stage].Module)) return signal.alias();
        using var scope = torch.NewDisposeScope();
        return (signal * output.gt(0).to(signal.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Inverts <paramref name="signal"/> (at the output of stage <paramref name="fromStage"/>, e.g. the logits) down to
    /// the input of stage <paramref name="toStage"/>, using the forward <paramref name="activations"/> (stage name →
    /// output; the stage before <paramref name="toStage"/> included). The result is not gated.
    /// </summary>
    public Tensor Invert(Tensor signal, IReadOnlyDictionary<string, Tensor> activations, int fromStage, int toStage)
    {
        using var scope = torch.NewDisposeScope();
        var s = signal;
        foreach (var (i, inverse) in _inverses)
        {
            if (i > fromStage || i < toStage) continue;
            var output = activations[Model.Stages[i].Name];
            var input = activations[Model.Stages[i - 1].Name];
            s = inverse.Invert(Gate(i, s, output), input, output);
        }
        return s.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The gated signal at the output of every layer above k that a per-layer map can be read at: stages that end in
    /// a rectifier or are residual blocks, with a spatial output larger than 1×1 (for a superposition of maps).
    /// </summary>
    public IReadOnlyList<(string Stage, Tensor Signal)> UpperSignals(Tensor outputSignal, IReadOnlyDictionary<string, Tensor> activations)
    {
        var result = new List<(string, Tensor)>();
        using var scope = torch.NewDisposeScope();
        var s = outputSignal;
        foreach (var (i, inverse) in _inverses)
        {
            var output = activations[Model.Stages[i].Name];
            var gated = Gate(i, s, output);
            if ((IsRectified(Model.Stages[i].Module) || Model.Stages[i].Module is ResidualBlock) && output.ndim == 4 && output.size(2) * output.size(3) > 1)
                result.Add((Model.Stages[i].Name, gated.alias().MoveToOuterDisposeScope()));
            s = inverse.Invert(gated, activations[Model.Stages[i - 1].Name], output);
        }
        return result;
    }

    /// <summary>The source signal S_k at layer k for the given signal at the output (gated at k).</summary>
    public Tensor SourceSignal(Tensor outputSignal, IReadOnlyDictionary<string, Tensor> activations)
    {
        using var scope = torch.NewDisposeScope();
        var last = Model.Stages.Count - 1;
        var s = Invert(outputSignal, activations, last, LayerIndex + 1);
        return Gate(LayerIndex, s, activations[Model.Stages[LayerIndex].Name]).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor input) =>
        throw new NotSupportedException("an inverse network needs forward activations: call SourceSignal");
}
