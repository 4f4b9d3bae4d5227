namespace Harness.Torch;

/// <summary>What the shim keeps of frozen convolutions between calls (<see cref="FrozenConvolution.Kept"/>).</summary>
/// <param name="LiveWeightBytes">Weights in oneDNN's layout whose tensors are alive.</param>
/// <param name="FreedWeightBytes">Copies of freed weights, dropped when the shim next keeps a new one.</param>
/// <param name="Primitives">Prepared oneDNN primitives (one per layer, input shape and kind of pass).</param>
internal readonly record struct KeptConvolutions(long LiveWeightBytes, long FreedWeightBytes, long Primitives);
