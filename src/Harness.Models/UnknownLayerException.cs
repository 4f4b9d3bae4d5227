namespace Harness.Models;

/// <summary>A layer name that the model does not have; the message lists the valid names.</summary>
public sealed class UnknownLayerException : ArgumentException
{
    public UnknownLayerException(string layer, string model, IEnumerable<string> valid)
        : base($"{model} has no layer '{layer}'. Valid layers: {string.Join(", ", valid)}")
    {
        Layer = layer;
    }

    public string Layer { get; }
}
