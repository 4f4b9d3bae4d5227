using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// One step of a classifier's forward pass in execution order: a torchvision module ("features.3", "layer4.2",
/// "classifier.1") or a functional step torchvision writes inline in forward() ("flatten", MobileNetV2's
/// "avgpool"). Layer taps and inversion work on stages.
/// </summary>
public sealed record Stage(string Name, Module Module)
{
    public override string ToString() => $"{Name} ({Module.GetType().Name})";
}
