using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// An image classifier as a flat sequence of named <see cref="Stage"/>s with torchvision's module names and
/// state-dict keys, so torchvision checkpoints load strictly. Besides the full forward pass it can run up to a
/// layer, capture activations at several layers in one pass, and resume from a layer's activation: MIP-IN and
/// Grad-CAM need all three. Group names ("layer4", "features.18") are aliases for the output of their last stage.
/// </summary>
public abstract class ClassifierModel : Module
{
    private readonly List<Stage> _stages = new();
    private readonly List<Module> _modules = new(); // _stages' modules, for ConvolutionFusion
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    protected ClassifierModel(string architecture, int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "num_classes must be at least 1");
        Architecture = architecture;
        NumClasses = numClasses;
    }

    /// <summary>The zoo name, e.g. "vgg19", "resnet50", "mobilenet_v2".</summary>
    public string Architecture { get; }

    public int NumClasses { get; }

    /// <summary>
    /// How convolution weights and activations are laid out in memory (<see cref="UseMemoryFormat"/>); the input of a
    /// pass from the model input is converted to it. Shapes and values do not depend on it.
    /// </summary>
    public MemoryFormat MemoryFormat { get; private set; } = MemoryFormat.Contiguous;

    /// <summary>
    /// Lays out the 4-D weights as <paramref name="memoryFormat"/> and converts the input of every pass to it
    /// (PyTorch's <c>model.to(memory_format=...)</c> plus <c>x.contiguous(memory_format=...)</c>). Channels-last runs
    /// oneDNN's CPU convolutions without reordering: measured 1.2-1.4× faster on MobileNetV2 and ResNet-50 (docs/bench.md).
    /// </summary>
    public ClassifierModel UseMemoryFormat(MemoryFormat memoryFormat)
    {
        if (memoryFormat is not (MemoryFormat.Contiguous or MemoryFormat.ChannelsLast))
            throw new ArgumentOutOfRangeException(nameof(memoryFormat), memoryFormat, "a model's memory format is Contiguous or ChannelsLast");
        to(memoryFormat);
        MemoryFormat = memoryFormat;
        return this;
    }

    /// <summary>The stages in execution order.</summary>
    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>Every name a layer argument accepts: stage names and group aliases.</summary>
    public IEnumerable<string> LayerNames => _stages.Select(s => s.Name).Concat(_aliases.Keys);

    /// <summary>Adds a stage at the end of the forward pass.</summary>
    protected void AddStage(string name, Module module)
    {
        if (!_index.TryAdd(name, _stages.Count)) throw new InvalidOperationException($"duplicate stage name {name}");
        _stages.Add(new Stage(name, module));
        _modules.Add(module);
    }

    /// <summary>Adds each child of <paramref name="sequence"/> as stage "prefix.i".</summary>
    protected void AddSequentialStages(string prefix, Sequential sequence)
    {
        for (var i = 0; i < sequence.Count; i++) AddStage($"{prefix}.{i}", sequence[i]);
    }

    /// <summary>
    /// Registers torchvision's features → avgpool → flatten → classifier layout (VGG, AlexNet, the small test CNN).
    /// </summary>
    protected void BuildFeaturesClassifier(Sequential features, Module avgpool, Sequential classifier)
    {
        RegisterModule("features", features);
        RegisterModule("avgpool", avgpool);
        RegisterModule("classifier", classifier);
        AddSequentialStages("features", features);
        AddStage("avgpool", avgpool);
        AddStage("flatten", new Flatten());
        AddSequentialStages("classifier", classifier);
    }

    /// <summary>Makes <paramref name="group"/> name the output of stage <paramref name="lastStage"/>.</summary>
    protected void AddAlias(string group, string lastStage)
    {
        if (!_index.ContainsKey(lastStage)) throw new InvalidOperationException($"alias {group} → unknown stage {lastStage}");
        _aliases[group] = lastStage;
    }

    /// <summary>The position of a layer (stage name or alias) in <see cref="Stages"/>.</summary>
    public int IndexOf(string layer)
    {
        if (_aliases.TryGetValue(layer, out var stage)) layer = stage;
        return _index.TryGetValue(layer, out var i) ? i : throw new UnknownLayerException(layer, Architecture, LayerNames);
    }

    /// <summary>The stage a layer name resolves to.</summary>
    public Stage StageOf(string layer) => _stages[IndexOf(layer)];

    public override Tensor forward(Tensor input) => RunStages(input, 0, _stages.Count - 1);

    /// <summary>The output of <paramref name="layer"/> for <paramref name="input"/>.</summary>
    public Tensor ForwardTo(Tensor input, string layer) => RunStages(input, 0, IndexOf(layer));

    /// <summary>The logits, given the output of <paramref name="layer"/>: runs the stages after it.</summary>
    public Tensor ForwardFrom(Tensor activation, string layer) => RunStages(activation, IndexOf(layer) + 1, _stages.Count - 1);

    /// <summary>
    /// One forward pass that returns the logits and the outputs of every requested layer (keyed by the name asked for).
    /// </summary>
    public (Tensor logits, IReadOnlyDictionary<string, Tensor> activations) Capture(Tensor input, IEnumerable<string> layers) =>
        CaptureStages(input, -1, layers);

    /// <summary>
    /// Like <see cref="Capture"/>, but starts from <paramref name="activation"/>, the output of
    /// <paramref name="layer"/>: runs only the stages after it. Requested layers must be at or after
    /// <paramref name="layer"/>; a layer that resolves to it is captured as <paramref name="activation"/> itself.
    /// </summary>
    public (Tensor logits, IReadOnlyDictionary<string, Tensor> activations) CaptureFrom(Tensor activation, string layer, IEnumerable<string> layers) =>
        CaptureStages(activation, IndexOf(layer), layers);

    // Runs the stages after `last` (-1: all of them) on x, the output of stage `last` (or the model input).
    private (Tensor logits, IReadOnlyDictionary<string, Tensor> activations) CaptureStages(Tensor x, int last, IEnumerable<string> layers)
    {
        var wanted = new Dictionary<int, List<string>>();
        var captured = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            var i = IndexOf(layer);
            if (i < last) throw new ArgumentException($"layer {layer} comes before {_stages[last].Name}, where this pass starts", nameof(layers));
            if (i == last) captured[layer] = x;
            else
            {
                if (!wanted.TryGetValue(i, out var names)) wanted[i] = names = new List<string>();
                names.Add(layer);
            }
        }
        var logits = RunStages(x, last + 1, _stages.Count - 1, wanted, captured);
        return (logits, captured);
    }

    // Runs stages first..last on x. Outputs of the stages in `wanted` are kept and added to `captured` under the names
    // asked for; every other stage output is freed as soon as the next stage has consumed it (as Python's reference
    // counting does), so a pass holds one or two activations at a time; autograd keeps what backward needs through its
    // own references. Where nothing asks for the convolution's own output, a frozen conv stage followed by an eval BN
    // stage runs as one folded convolution (ConvBatchNorm). A ReLU/ReLU6 stage overwrites its input (torchvision's
    // inplace=True) when this pass made that input, nothing captured can alias it (only below the first captured
    // stage) and the stage that made it allows it (Rectifier); under the same conditions a residual block may write its
    // sum into its input's memory (ResidualBlock.ForwardGivingUpInput). A ReLU/ReLU6 stage right after a convolution
    // (or a folded pair) whose output nothing asks for runs in place on it, inside its kernel where the shim can
    // (ConvolutionFusion): VGG's features are such pairs. On the CPU, a channels-last model runs spans of residual
    // blocks in oneDNN's blocked layout (BlockedRun; while autograd records, from the first stage after the image layer),
    // under the same rule about captured stages.
    private Tensor RunStages(Tensor input, int first, int last, Dictionary<int, List<string>>? wanted = null, Dictionary<string, Tensor>? captured = null)
    {
        var x = input;
        var inPlaceUpTo = wanted is { Count: > 0 } ? wanted.Keys.Min() : last;
        for (var i = first; i <= last; i++)
        {
            var previousIsKept = ReferenceEquals(x, input) || (wanted?.ContainsKey(i - 1) ?? false);
            Tensor blockedOutput = null!;
            var blocked = MemoryFormat != MemoryFormat.ChannelsLast ? 0  // a contiguous model runs every op as PyTorch eager does
                : BlockedRun.TryForward(_modules, i, last, x, j => wanted?.ContainsKey(j) ?? false, inputGivenUp: !previousIsKept, out blockedOutput);
            // A blocked run reads the model input in any layout (an image as plain NCHW data); the stages want it in this
            // model's memory format.
            if (blocked == 0 && i == 0)
            {
                x = ToInputFormat(input);
                previousIsKept = ReferenceEquals(x, input);  // a copy in the model's format is this pass's own
            }
            var previous = x;
            var module = _stages[i].Module;
            Tensor convolved = null!;
            var fused = blocked > 0 ? 0 : ConvolutionFusion.TryForward(_modules, i, last, x, j => wanted?.ContainsKey(j) ?? false, out convolved);
            if (blocked > 0)
            {
                x = blockedOutput;
                i += blocked - 1; // the run's stages ran in the blocked layout, its last output reordered back
            }
            else if (fused > 0)
            {
                x = convolved;
                i += fused - 1; // the BN ran folded into the convolution, the rectifier in place after it (or inside it)
            }
            else if (i > first && i <= inPlaceUpTo && !previousIsKept && Rectifier.MayOverwriteOutputOf(_stages[i - 1].Module))
                x = module switch
                {
                    ResidualBlock block => block.ForwardGivingUpInput(x),
                    _ when Rectifier.TryInPlace(module, x, out var rectified) => rectified,
                    _ => module.forward(x),
                };
            else
                x = module.forward(x);
            if (!previousIsKept && !ReferenceEquals(previous, x)) previous.Dispose();
            if (wanted is not null && wanted.TryGetValue(i, out var names))
                foreach (var name in names) captured![name] = x;
        }
        return ReferenceEquals(x, input) ? input.alias() : x;
    }

    // The model input in this model's memory format (the input itself when it already is, or is not B×C×H×W).
    private Tensor ToInputFormat(Tensor input) =>
        MemoryFormat == MemoryFormat.Contiguous || input.ndim != 4 || input.is_contiguous(MemoryFormat) ? input : input.contiguous(MemoryFormat);
}
