using Harness.Data.Imaging;
using Harness.Experiments;
using Harness.Grains;
using Harness.Grains.Cluster;
using Harness.Models;
using Harness.Silo.Cluster;
using Harness.Torch;

namespace Harness.Tests.Cluster;

/// <summary>
/// What a silo keeps between grains is bounded: a slot keeps at most <see cref="GrainContext.MaxModels"/> models and
/// unloads the least recently used, and <see cref="SlotWorkers"/> keeps the last <see cref="SlotWorkers.MaxPlans"/>
/// plans. A standing silo serves run after run and used to keep every model and plan it ever had.
/// </summary>
public sealed class GrainContextTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mipin-grain-context-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ASlotKeepsItsMostRecentlyUsedModelsAndUnloadsTheRest()
    {
        var log = new List<string>();
        using var context = new GrainContext(Device.CPU, log.Add, CancellationToken.None, maxModels: 2);
        var (a, b, c) = (Checkpoint("a"), Checkpoint("b"), Checkpoint("c"));

        var modelA = context.Model(a);
        var modelB = context.Model(b);
        Assert.Same(modelA, context.Model(a));  // kept: no second load
        Assert.Equal(2, context.ModelLoads);

        context.Model(c);  // a third: b was used least recently
        Assert.Equal(3, context.ModelLoads);
        Assert.Equal(new[] { a.Id, c.Id }, context.LoadedModels.Order());
        Assert.Throws<ObjectDisposedException>(() => modelB.parameters().First().numel());  // its memory is freed
        Assert.True(modelA.parameters().First().numel() > 0);  // the kept one is untouched
        Assert.Contains(log, l => l.Contains($"unloading model {b.Id} from cpu") && l.Contains("at most 2 model(s)"));

        context.Model(b);  // back again: loaded anew, and now a is the least recently used
        Assert.Equal(4, context.ModelLoads);
        Assert.Equal(new[] { b.Id, c.Id }, context.LoadedModels.Order());
    }

    [Fact]
    public void ASlotKeepsAtLeastOneModel() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrainContext(Device.CPU, _ => { }, CancellationToken.None, maxModels: 0));

    [Fact]
    public void TheSiloCommandRefusesToKeepNoModel()
    {
        var result = TestProcess.Run("dotnet", [TestPaths.Cli, "silo", "--cluster", "redis://127.0.0.1:1", "--models-per-slot", "0"],
            timeout: TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, result.Code);
        Assert.Contains("--models-per-slot 0: a slot keeps at least 1 model (default 2)", result.Stderr);
    }

    [Fact]
    public void ASiloKeepsTheLastPlans()
    {
        using var workers = new SlotWorkers(new SiloIdentity("s", [Device.CPU]), _ => { });
        for (var i = 0; i < SlotWorkers.MaxPlans + 3; i++)
            workers.Seed($"/specs/run{i}.yaml", [], [], _directory);
        Assert.Equal(SlotWorkers.MaxPlans, workers.PlansHeld);
    }

    /// <summary>A small CNN's checkpoint under its own file name, so each has its own model id.</summary>
    private ModelSpec Checkpoint(string name)
    {
        var path = Path.Combine(_directory, $"{name}.safetensors");
        using (var model = ModelZoo.Create("small_cnn", 10))
        using (var state = model.state_dict())
            state.Save(path);
        return new ModelSpec("small_cnn", path, 10, PreprocessConfig.ImageNet);
    }
}
