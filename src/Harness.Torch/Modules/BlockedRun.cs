namespace Harness.Torch.Modules;

/// <summary>
/// A run of a classifier's stages executed in oneDNN's blocked layout (<see cref="BlockedActivation"/>): the input is
/// reordered once, every stage of the run keeps its output blocked, and the last one's output is reordered back to
/// channels-last. Passes without autograd take it by default, passes autograd records when
/// <see cref="BlockedActivation.Passes"/> is <see cref="BlockedPasses.All"/>: their gradient comes back through the same
/// layout (and a run never starts at the image, whose input gradient has a faster kernel channels-last). A run is made
/// of residual blocks (<see cref="IForwardsBlocked"/>) and the conv + BN (+ ReLU/ReLU6) groups around them, and must hold at least <see cref="MinBlocks"/> blocks: the gain
/// is in the 1×1 and depthwise convolutions of residual blocks (a MobileNetV2 forward pass about 1.25× faster), while
/// on AVX-512 dense 3×3 layers run at the kernel peak in either layout, so a run of plain convolutions (VGG) would only
/// add the two reorders, and so would a run of one block between captured stages. (On AVX2, where oneDNN's 3×3
/// kernels are faster blocked, the shim runs VGG's layers in it one at a time: FrozenConvolution.)
/// </summary>
public static class BlockedRun
{
    /// <summary>The fewest residual blocks a run holds: fewer would not pay for its two reorders.</summary>
    public const int MinBlocks = 2;

    /// <summary>How many stages have run in blocked runs on the calling thread (tests check which passes take the path).</summary>
    internal static long StagesRunOnThisThread => t_stagesRun;

    [ThreadStatic] private static long t_stagesRun;

    /// <summary>
    /// When a run starts at <paramref name="first"/> (without going past <paramref name="last"/> or a stage whose output
    /// the caller keeps, per <paramref name="keepsOutputOf"/>; a kept output ends the run), runs it on
    /// <paramref name="input"/> and returns how many stages ran, with the last one's output (channels-last) in
    /// <paramref name="output"/>; otherwise returns 0 and runs nothing. <paramref name="input"/> (any layout) is left as
    /// it was; when <paramref name="inputGivenUp"/>, it is freed as soon as its blocked copy is made, so the run does not
    /// hold both.
    /// </summary>
    public static int TryForward(IReadOnlyList<Module> layers, int first, int last, Tensor input, Func<int, bool> keepsOutputOf,
        bool inputGivenUp, out Tensor output)
    {
        output = null!;
        var passes = BlockedActivation.Passes;
        if (input.ndim != 4 || input.device.IsCuda || input.dtype != ScalarType.Float32 || passes == BlockedPasses.None) return 0;
        // Under the default, any pass with autograd on stays channels-last, as before blocked runs could record.
        if (torch.is_grad_enabled() &&
            (passes != BlockedPasses.All || input.requires_grad && input.shape[1] < BlockedActivation.BlockChannels)) return 0;
        var units = Plan(layers, first, last, keepsOutputOf, input.shape[1]);
        if (units.Count == 0) return 0;
        using var scope = torch.NewDisposeScope();
        var x = BlockedActivation.From(input);
        if (inputGivenUp) input.Dispose();
        foreach (var (start, count) in units)
        {
            var next = layers[start] is IForwardsBlocked block
                ? block.ForwardBlocked(x)
                : ConvBatchNorm.ForwardBlocked((Conv2d)layers[start], (BatchNorm2d)layers[start + 1], x, count == 3 ? layers[start + 2] : null);
            if (!ReferenceEquals(next, x)) x.Dispose();
            x = next;
        }
        output = x.ToChannelsLast().MoveToOuterDisposeScope();
        x.Dispose();
        var ran = units[^1].Start + units[^1].Count - first;
        t_stagesRun += ran;
        return ran;
    }

    // The run's units (a block, or a conv + BN [+ rectifier] group) from `first`, or none when it would hold too few blocks.
    private static List<(int Start, int Count)> Plan(IReadOnlyList<Module> layers, int first, int last, Func<int, bool> keepsOutputOf,
        long inputChannels)
    {
        var units = new List<(int Start, int Count)>();
        var blocks = 0;
        for (var i = first; i <= last;)
        {
            int count;
            if (layers[i] is IForwardsBlocked { CanForwardBlocked: true })
            {
                // An image's few channels enter as plain data, which only a convolution reads.
                if (units.Count == 0 && inputChannels < BlockedActivation.BlockChannels) break;
                count = 1;
                blocks++;
            }
            else if (ConvolutionFusion.FoldedGroupLength(layers, i, last, keepsOutputOf) is var group and > 0 &&
                     ConvBatchNorm.CanForwardBlocked((Conv2d)layers[i], (BatchNorm2d)layers[i + 1]))
                count = group;
            else break;
            units.Add((i, count));
            i += count;
            if (keepsOutputOf(i - 1)) break;
        }
        return blocks >= MinBlocks ? units : new List<(int Start, int Count)>();
    }
}
