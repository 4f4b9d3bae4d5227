using Harness.Models;
using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// The shim keeps each frozen convolution's weight in oneDNN's layout, and a prepared primitive per layer, input shape
/// and kind of pass, between calls (<see cref="FrozenConvolution"/>). Its bounds must hold memory in check without
/// throwing away what a live model uses: a disposed model's copies go when the next copy is kept (they used to stay
/// until the cache was full: about 100 MB per freed ResNet-50), and a model used at several batch sizes keeps its
/// weights and primitives (with 512 entries ResNet-50 at four batch sizes, or ResNet-101 at two, emptied the cache
/// every pass and reordered every weight again). Serial: the cache is process-wide and other tests fill it too.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FrozenConvolutionCacheTests
{
    [SkippableFact]
    public void ADisposedModelsWeightsGoWhenTheNextModelRuns()
    {
        RequireCache();
        var (first, firstBytes, _) = RunOnce(seed: 1);
        Assert.True(Kept.FreedWeightBytes >= first,
            $"the disposed model's {first} bytes wait for the next entry (freed: {Kept.FreedWeightBytes})");

        var (second, secondBytes, freedWhileSecondRan) = RunOnce(seed: 2);
        Assert.Equal(0, freedWhileSecondRan);  // the first model's copies went with the second's first entry
        // Each model's copies while it lived: its convolution weights, 4 bytes per value (a hand count from the
        // weights' shapes; oneDNN's blocked layouts may pad a few channel counts).
        Assert.InRange(first, firstBytes, firstBytes * 11 / 10);
        Assert.InRange(second, secondBytes, secondBytes * 11 / 10);
    }

    [SkippableFact]
    public void AModelAtSeveralBatchSizesKeepsItsWeightsAndPrimitives()
    {
        RequireCache();
        using var channelsLast = BlockedActivation.Override(false);  // one family of kernels (the next test mixes them)
        using var scope = torch.NewDisposeScope();
        using var model = ModelZoo.Create("resnet50", 10, 3);
        model.requires_grad_(false);
        model.UseMemoryFormat(MemoryFormat.ChannelsLast);
        using var generator = new Generator(3);
        // A first new entry drops what earlier tests left of freed weights, so the count below starts from live ones.
        using (torch.no_grad())
            torch.nn.functional.conv2d(torch.randn(new long[] { 1, 8, 9, 9 }, generator: generator).contiguous(MemoryFormat.ChannelsLast),
                torch.randn(new long[] { 8, 8, 3, 3 }, generator: generator).contiguous(MemoryFormat.ChannelsLast), null, 1, 1);
        var primitivesBefore = Kept.Primitives;
        long keptWeights = 0, primitivesAfterFirstRound = 0;
        for (var round = 0; round < 2; round++)
        {
            for (long batch = 1; batch <= 16; batch++)
            {
                // A forward pass (post-ops inside the convolutions, with or without autograd) and an input gradient
                // (backward-data or rotated-kernel forward), each a new primitive per layer and shape.
                var x = torch.randn(new long[] { batch, 3, 64, 64 }, generator: generator).contiguous(MemoryFormat.ChannelsLast);
                using (torch.no_grad())
                    model.forward(x);
                var input = x.requires_grad_();
                model.forward(input).sum().backward();
                var weights = Kept.LiveWeightBytes;
                Assert.True(weights >= keptWeights, $"kept weights fell from {keptWeights} to {weights} bytes: the cache emptied itself");
                keptWeights = weights;
            }
            if (round == 0) primitivesAfterFirstRound = Kept.Primitives;
        }
        Assert.True(primitivesAfterFirstRound - primitivesBefore > 512,
            $"sixteen batch sizes need more than 512 primitives (the old bound); {primitivesAfterFirstRound - primitivesBefore} were made");
        Assert.Equal(primitivesAfterFirstRound, Kept.Primitives);  // the second round reuses every one
    }

    [SkippableFact]
    public void AWeightIsKeptForOneFamilyOfKernelsAtATime()
    {
        // A pass without autograd runs ResNet's blocks in the blocked layout (kernels that want their own weight
        // layouts); a recorded pass runs the channels-last kernels. A model used both ways (MIP-IN's training, then
        // gradient passes in a score grain) must not keep both copies of every weight: after the recorded pass, the
        // cache holds exactly what a model that never ran blocked holds.
        RequireCache();
        Skip.IfNot(BlockedActivation.Available, "this shim has no blocked activations");
        using var blocked = BlockedActivation.Override(true);
        using var scope = torch.NewDisposeScope();
        long afterBlocked, afterBoth, afterBlockedAgain, convolutionBytes;
        using (var model = Frozen(seed: 4))
        {
            var before = Kept.LiveWeightBytes;
            using (torch.no_grad())
                model.forward(Input());
            afterBlocked = Kept.LiveWeightBytes - before;
            model.forward(Input().requires_grad_()).sum().backward();
            afterBoth = Kept.LiveWeightBytes - before;
            // Blocked again: the prepared primitives of the first blocked pass went with their weights, so the weights
            // are reordered again (a primitive kept with its own copy would run without one, unaccounted for).
            using (torch.no_grad())
                model.forward(Input());
            afterBlockedAgain = Kept.LiveWeightBytes - before;
            convolutionBytes = model.parameters().Where(p => p.dim() == 4).Sum(p => p.numel() * sizeof(float));
        }
        long recordedOnly;
        using (var model = Frozen(seed: 5))
        {
            var before = Kept.LiveWeightBytes;
            model.forward(Input().requires_grad_()).sum().backward();
            recordedOnly = Kept.LiveWeightBytes - before;
        }
        Assert.InRange(afterBlocked, convolutionBytes, convolutionBytes * 11 / 10);  // one copy of each weight
        Assert.Equal(recordedOnly, afterBoth);
        // ResNet-18 at 64×64: no rotated copies, which are kept apart. Blocked again, the cache holds one family's
        // copies. On AVX-512 the blocked kernels want other weight layouts than the channels-last ones, so the
        // recorded pass's copies went. On AVX2 oneDNN's jit:avx2 kernels want the same layout for a forward pass from
        // nChw8c as from channels-last: that copy serves both, and the backward-data copy stays with it, as after a
        // recorded pass alone.
        Assert.Equal(OneDnnKernels.Brgemm == true ? afterBlocked : afterBoth, afterBlockedAgain);

        static ClassifierModel Frozen(ulong seed)
        {
            var model = ModelZoo.Create("resnet18", 10, seed);
            model.requires_grad_(false);
            model.UseMemoryFormat(MemoryFormat.ChannelsLast);
            return model;
        }

        static Tensor Input() => torch.randn(new long[] { 2, 3, 64, 64 }).contiguous(MemoryFormat.ChannelsLast);
    }

    private static KeptConvolutions Kept => FrozenConvolution.Kept!.Value;

    private static void RequireCache()
    {
        Skip.If(FrozenConvolution.Kept is null,
            "the native shim was built without oneDNN's headers and keeps nothing (apt-get install libdnnl-dev, then rebuild)");
        // Let the finalizers of other tests' tensors run now, not in the middle of this test.
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// Loads a ResNet-18, runs a forward pass without autograd on channels-last data (every convolution takes the
    /// cached path), disposes the model, and returns the bytes the cache kept for it while it lived, the bytes of its
    /// 4-D (convolution) weights, and the bytes of freed weights' copies the cache held at that moment.
    /// </summary>
    private static (long Kept, long ConvolutionBytes, long Freed) RunOnce(ulong seed)
    {
        var before = Kept.LiveWeightBytes;
        long kept, convolutionBytes, freed;
        using (var scope = torch.NewDisposeScope())
        using (var model = ModelZoo.Create("resnet18", 10, seed))
        {
            model.requires_grad_(false);
            model.UseMemoryFormat(MemoryFormat.ChannelsLast);
            using (torch.no_grad())
                model.forward(torch.randn(new long[] { 2, 3, 64, 64 }));
            (kept, freed) = (Kept.LiveWeightBytes - before, Kept.FreedWeightBytes);
            convolutionBytes = model.parameters().Where(p => p.dim() == 4).Sum(p => p.numel() * sizeof(float));
        }
        return (kept, convolutionBytes, freed);
    }
}
