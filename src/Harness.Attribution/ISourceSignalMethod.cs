using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// A method that splits a layer's activation X_k of each image into a source signal S_k (what explains the target
/// class) and a distractor X_k − S_k. Model-querying metrics push both forward from that layer to test the split:
/// completeness (S_k alone reproduces the target logit) and minimality (the distractor alone does not).
/// </summary>
public interface ISourceSignalMethod : IAttributionMethod
{
    /// <summary>The model whose layer the signal lives at.</summary>
    ClassifierModel Model { get; }

    /// <summary>The name of the stage whose output X_k the signal splits.</summary>
    string SignalStage { get; }

    /// <summary>S_k for each image's target class, and the forward activation X_k (both in the caller's scope).</summary>
    (Tensor Source, Tensor Activation) SourceSignals(AttributionBatch batch);
}
