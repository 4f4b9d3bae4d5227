using Harness.Grains.Models;

namespace Harness.Grains.Attribution.MipIn;

/// <summary>
/// Supplies trained MIP-IN inverse networks: the experiment runner and the CLI train one (or load the saved one)
/// for a model, layer and training options. Kept behind an interface so methods never decide where training
/// images come from.
/// </summary>
public interface IInverseProvider
{
    /// <summary>The trained inverse of <paramref name="model"/> down to <paramref name="layer"/>; the provider owns it.</summary>
    InverseNetwork GetInverse(ClassifierModel model, string layer, MipInTrainingOptions options);
}
