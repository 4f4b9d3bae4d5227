namespace Harness.Torch.Modules;

/// <summary>Children named "0", "1", ... applied in order (torch.nn.Sequential).</summary>
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

    public override Tensor forward(Tensor input)
    {
        // Intermediate results belong to the caller's dispose scope, like every other op's.
        var x = input;
        foreach (var layer in _layers) x = layer.forward(x);
        return ReferenceEquals(x, input) ? input.alias() : x;
    }
}
