using Harness.Models;

namespace Harness.Attribution;

/// <summary>
/// The training side of a method that must learn something from images before it can explain (MIP-IN's inverse
/// network). Registered next to the method's factory in <see cref="AttributionMethods"/>; experiments, grains and the
/// CLI reach it only through this interface, so a second trainable method is one implementation and one registration.
/// </summary>
public interface ITrainableMethod
{
    /// <summary>Checks the options, and the layers they name against <paramref name="probe"/>, without training.</summary>
    /// <exception cref="ArgumentException">An unknown option, a bad value or an unknown layer; the message lists the valid ones.</exception>
    void Validate(ClassifierModel probe, ConfigOptions options);

    /// <summary>
    /// The file that training with these options on <paramref name="training"/> saves: it exists once training has
    /// finished. Found without a model (a planner asks it for every model and method variant).
    /// </summary>
    string TrainedStatePath(string architecture, int numClasses, ConfigOptions options, TrainingSet training);

    /// <summary>Trains the state for <paramref name="model"/> (or loads the saved one) and returns the ready method.</summary>
    IAttributionMethod Create(ClassifierModel model, ConfigOptions options, MethodTraining training);
}
