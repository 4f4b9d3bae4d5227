using Harness.Models;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Metrics.Sanity;

/// <summary>
/// Cascading model-parameter randomisation (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018):
/// the model's stages that hold parameters are re-initialised one at a time from the top of the network down, each
/// step keeping the earlier ones. Re-initialisation follows PyTorch's <c>reset_parameters</c> (what Quantus's MPRT
/// calls): a convolution or linear layer gets weight and bias uniform in ±1/√fan_in (fan_in = weight elements per
/// output unit), a batch norm becomes the identity (weight 1, bias 0, running mean 0, running variance 1).
/// The numbers come from <see cref="SplitMix64"/>, not libtorch's generator, so an independent implementation can
/// reproduce them exactly: parameter P (its state-dict name) under seed S uses the stream
/// <see cref="SplitMix64.Stream"/>(S, P); element k in row-major order takes the stream's (k+1)-th output as
/// u = <see cref="SplitMix64.UnitFloat"/> and becomes float32((2u − 1)·bound).
/// The model is changed in place; dispose the randomisation to restore every tensor it touched, bit for bit.
/// </summary>
public sealed class ModelRandomisation : IDisposable
{
    private readonly ClassifierModel _model;
    private readonly ulong _seed;
    private readonly List<(Tensor Target, Tensor Original)> _saved = new();

    /// <summary>Starts a cascade on <paramref name="model"/>; nothing changes until <see cref="RandomiseNext"/>.</summary>
    public ModelRandomisation(ClassifierModel model, ulong seed)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _seed = seed;
        Cascade = CascadeOf(model);
    }

    /// <summary>The stages in cascade order: those holding parameters, from the output back to the input.</summary>
    public IReadOnlyList<Stage> Cascade { get; }

    /// <summary>How many stages are randomised so far.</summary>
    public int Randomised { get; private set; }

    /// <summary>The stages of <paramref name="model"/> that hold parameters, last first.</summary>
    public static IReadOnlyList<Stage> CascadeOf(ClassifierModel model) =>
        model.Stages.Where(s => s.Module.named_parameters().Any()).Reverse().ToArray();

    /// <summary>Randomises the next stage of <see cref="Cascade"/> and returns it.</summary>
    public Stage RandomiseNext()
    {
        if (Randomised >= Cascade.Count) throw new InvalidOperationException($"all {Cascade.Count} stages are already randomised");
        var stage = Cascade[Randomised++];
        using var noGrad = torch.no_grad();
        foreach (var (name, module) in stage.Module.named_modules(stage.Name))
        {
            switch (module)
            {
                case Conv2d conv:
                    Reset(name, conv.weight, conv.bias);
                    break;
                case Linear linear:
                    Reset(name, linear.weight, linear.bias);
                    break;
                case BatchNorm2d bn:
                    Fill(bn.weight, 1);
                    Fill(bn.bias, 0);
                    Fill(bn.running_mean, 0);
                    Fill(bn.running_var, 1);
                    break;
                default:
                    if (module.named_parameters().Any() && !module.named_children().Any())
                        throw new NotSupportedException($"{name} is a {module.GetType().Name}: model randomisation knows how to re-initialise Conv2d, Linear and BatchNorm2d only");
                    break;
            }
        }
        return stage;
    }

    /// <summary>
    /// The float32 values parameter <paramref name="name"/> of shape <paramref name="shape"/> gets: uniform in
    /// ±<paramref name="bound"/> from the stream <see cref="SplitMix64.Stream"/>(<paramref name="seed"/>, name).
    /// </summary>
    public static float[] UniformValues(ulong seed, string name, long numel, double bound)
    {
        var state = SplitMix64.Stream(seed, name);
        var values = new float[numel];
        for (long k = 0; k < numel; k++) values[k] = (float)((2 * SplitMix64.UnitFloat(ref state) - 1) * bound);
        return values;
    }

    private void Reset(string module, Tensor weight, Tensor? bias)
    {
        var shape = weight.shape;
        var fanIn = weight.numel() / shape[0];
        var bound = 1 / Math.Sqrt(fanIn);
        Overwrite(weight, UniformValues(_seed, module + ".weight", weight.numel(), bound));
        if (bias is not null) Overwrite(bias, UniformValues(_seed, module + ".bias", bias.numel(), bound));
    }

    private void Fill(Tensor target, double value)
    {
        Save(target);
        target.fill_(value);
    }

    private void Overwrite(Tensor target, float[] values)
    {
        Save(target);
        using var source = torch.tensor(values, target.shape, target.device);
        target.copy_(source);
    }

    private void Save(Tensor target)
    {
        using var alias = target.detach();
        _saved.Add((target, alias.clone().DetachFromDisposeScope()));
    }

    /// <summary>Puts back every tensor this randomisation changed (copy_, so the model's cached folds rebuild).</summary>
    public void Dispose()
    {
        using var noGrad = torch.no_grad();
        for (var k = _saved.Count - 1; k >= 0; k--)
        {
            _saved[k].Target.copy_(_saved[k].Original);
            _saved[k].Original.Dispose();
        }
        _saved.Clear();
    }
}
