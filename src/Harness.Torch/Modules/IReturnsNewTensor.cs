namespace Harness.Torch.Modules;

/// <summary>
/// Declares that a module's forward always returns a new tensor (never its input or a view of it; memory its caller
/// explicitly gave up, as with <c>ResidualBlock.ForwardGivingUpInput</c>, counts as new), so the next layer may overwrite
/// that output in place when no graph is recorded (<see cref="Rectifier.MayOverwriteOutputOf"/>).
/// Modules that do not declare it are never overwritten.
/// </summary>
public interface IReturnsNewTensor;
