using Harness.Experiments;

namespace Harness.Grains;

/// <summary>
/// The grain graph of an experiment: one train grain per model × trainable method variant, one score grain per
/// model × shard (depending on that model's train grains), one aggregate grain depending on all score grains.
/// </summary>
public sealed class ExperimentGrains
{
    public ExperimentGrains(ExperimentSpec spec) : this(new ExperimentPlan(spec))
    {
    }

    public ExperimentGrains(ExperimentPlan plan)
    {
        Plan = plan;
        var grains = new List<IWorkGrain>();
        var scoreKeys = new List<string>();
        foreach (var model in plan.Spec.Models)
        {
            var trainKeys = new List<string>();
            foreach (var method in plan.TrainableMethods)
            {
                var grain = new TrainMethodGrain(plan, model, method);
                grains.Add(grain);
                trainKeys.Add(grain.Key);
            }
            for (var s = 0; s < plan.Data.Shards.Count; s++)
            {
                var grain = new ScoreShardGrain(plan, model, s, trainKeys);
                grains.Add(grain);
                scoreKeys.Add(grain.Key);
            }
        }
        grains.Add(new AggregateGrain(plan, scoreKeys));
        All = grains;
    }

    public ExperimentPlan Plan { get; }
    public ExperimentSpec Spec => Plan.Spec;
    public ExperimentData Data => Plan.Data;
    public IReadOnlyList<IWorkGrain> All { get; }

    /// <summary>
    /// Whether <paramref name="grain"/> has nothing left to do: its output is done, or, for the aggregate (which always
    /// re-runs when scheduled), the leaderboard is newer than every shard.
    /// </summary>
    public static bool IsFinished(IWorkGrain grain) => grain is AggregateGrain a ? a.IsUpToDate() : grain.IsDone();

    /// <summary>Per-grain measurements (<see cref="GrainStats"/>), written by the silo that ran the grain.</summary>
    public string StatsDirectory => Plan.StatsDirectory;
}
