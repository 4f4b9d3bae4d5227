using Harness.Attribution;
using Harness.Experiments;

namespace Harness.Grains;

/// <summary>
/// Trains (or finds) the state of one trainable method variant (MIP-IN's inverse network) for one model; output: the
/// method's saved state, keyed by its inputs, so it is done when that file exists.
/// </summary>
public sealed class TrainMethodGrain(ExperimentPlan plan, ModelSpec model, MethodSpec method) : IWorkGrain
{
    public string Key => $"train/{model.Id}/{method.Label}";
    public IReadOnlyList<string> DependsOn => Array.Empty<string>();
    public int Images => plan.Data.Training.Count;

    public bool IsDone() => File.Exists(DoneFile);

    /// <summary>The method's saved state, named by a hash of its inputs (the training set among them).</summary>
    public string DoneFile
    {
        get
        {
            var training = AttributionMethods.Training(method.Name);
            var options = new ConfigOptions(method.Name, method.Options);
            return training.TrainedStatePath(model.Architecture, model.NumClasses, options, plan.TrainingSetFor(model, Torch.Device.CPU, null));
        }
    }

    public void Execute(GrainContext context)
    {
        using var training = plan.TrainingFor(model, context.Device, context.Log);
        // Creating the method trains its state (or loads it if another process just did).
        AttributionMethods.Create(method.Name, context.Model(model), method.Options, training);
    }
}
