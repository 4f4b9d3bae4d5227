namespace Harness.Torch.Modules;

/// <summary>
/// A module that can run on a <see cref="BlockedActivation"/>, with or without autograd (a residual block
/// whose convolutions all fold with their batch norms), so that a classifier's stage loop keeps a run of such modules
/// in the blocked layout (<see cref="BlockedRun"/>).
/// </summary>
public interface IForwardsBlocked
{
    /// <summary>Whether <see cref="ForwardBlocked"/> can run now (frozen weights, eval-mode batch norms).</summary>
    bool CanForwardBlocked { get; }

    /// <summary>
    /// The module's output for <paramref name="input"/>, which the caller gives up: the module may write its output
    /// into that memory and return <paramref name="input"/> itself; otherwise the caller frees it.
    /// </summary>
    BlockedActivation ForwardBlocked(BlockedActivation input);
}
