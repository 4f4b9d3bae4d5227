using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Grains.Models;

/// <summary>
/// An image classifier as a flat sequence of named <see cref="Stage"/>s with torchvision's module names and
/// state-dict keys, so torchvision checkpoints load strictly. Besides the full forward pass it can run up to a
/// layer, capture activations at several layers in one pass, and resume from a layer's activation: MIP-IN and
/// Grad-CAM need all three. Group names ("layer4", "features.18") are aliases for the output of their last stage.
/// </summary>
public abstract class ClassifierModel : Module
{
    private readonly List<Stage> _stages = new();
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

    /// <summary>The stages in execution order.</summary>
    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>Every name a layer argument accepts: stage names and group aliases.</summary>
    public IEnumerable<string> LayerNames => _stages.Select(s => s.Name).Concat(_aliases.Keys);

    /// <summary>Adds a stage at the end of the forward pass.</summary>
    protected void AddStage(string name, Module module)
    {
        if (!_index.TryAdd(name, _stages.Count)) throw new InvalidOperationException($"duplicate stage name {name}");
        _stages.Add(new Stage(name, module));
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
        // In place only below the first captured layer: nothing captured can alias what a rectifier overwrites.
        var inPlaceBelow = wanted.Count == 0 ? _stages.Count : wanted.Keys.Min();
        var noGrad = !torch.is_grad_enabled();
        var start = x;
        for (var i = last + 1; i < _stages.Count; i++)
        {
            var previous = x;
            x = Forward(i, x, noGrad && i > last + 1 && i <= inPlaceBelow && captured.Count == 0);
            ReleaseIntermediate(previous, x, start, i - 1, wanted);
            if (wanted.TryGetValue(i, out var names))
                foreach (var name in names) captured[name] = x;
        }
        return (x, captured);
    }

    // Frees a stage output as soon as the next stage has consumed it (as Python's reference counting does), instead of
    // when the caller's dispose scope ends: a pass then holds one or two activations at a time, not all of them.
    // Autograd keeps what backward needs through its own references. Never freed: the pass's input, captured
    // outputs, and an output the next stage returned as itself (in place).
    private static void ReleaseIntermediate(Tensor previous, Tensor next, Tensor input, int stage, Dictionary<int, List<string>>? wanted)
    {
        if (ReferenceEquals(previous, next) || ReferenceEquals(previous, input) || (wanted?.ContainsKey(stage) ?? false)) return;
        previous.Dispose();
    }

    // One stage. Without autograd, a top-level ReLU/ReLU6 may overwrite its input when that input was made by the
    // previous stage of this same pass and nothing else holds it (torchvision's inplace=True): VGG-19 at batch 32 then
    // skips allocating and writing 16 activations of up to 400 MB each.
    private Tensor Forward(int stage, Tensor x, bool inPlaceOk)
    {
        var module = _stages[stage].Module;
        // A view-returning stage before this one means x may share memory with a tensor the caller holds.
        inPlaceOk &= stage > 0 && _stages[stage - 1].Module is not (Dropout or Identity or Flatten);
        if (inPlaceOk && module is ReLU) return x.relu_();
        if (inPlaceOk && module is ReLU6) return x.relu6_();
        return module.forward(x);
    }

    private Tensor RunStages(Tensor input, int first, int last)
    {
        var x = input;
        var noGrad = !torch.is_grad_enabled();
        for (var i = first; i <= last; i++)
        {
            var previous = x;
            x = Forward(i, x, noGrad && i > first);
            ReleaseIntermediate(previous, x, input, i - 1, null);
        }
        return ReferenceEquals(x, input) ? input.alias() : x;
    }
}
