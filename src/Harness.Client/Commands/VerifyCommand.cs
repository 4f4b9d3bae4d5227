using System.CommandLine;
using Harness.Client.Engines;
using Harness.Grains;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin verify RUN`: the full check that status and resume skip. Status and resume trust a finished shard whose
/// marker matches the sizes and write times of its inputs; verify re-reads every image and the checkpoint and
/// compares content hashes. A shard whose inputs changed without changing their stamps (a file restored with its old
/// time, a checkpoint edited in place) loses its marker, so `mipin resume` (or running again) recomputes it.
/// Exit code 0 when every finished shard verifies, 1 when any was stale.
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var run = StatusCommand.RunArgument();
        var command = new Command("verify", "Re-check every finished shard of a run against the content of its inputs.") { run };
        command.SetAction(parse =>
        {
            var directory = Harness.Experiments.RunManifest.Resolve(parse.GetValue(run)!);
            var plan = RunController.Load(directory, withPlan: true).Plan!;
            int verified = 0, stale = 0, missing = 0;
            foreach (var shard in plan.All.OfType<ScoreShardGrain>())
            {
                if (!File.Exists(shard.MarkerPath))
                {
                    missing++;
                    continue;
                }
                if (shard.IsVerified())
                {
                    verified++;
                    continue;
                }
                stale++;
                File.Delete(shard.MarkerPath);
                Console.WriteLine($"stale: {shard.Key}: its inputs changed since it was scored; marker removed, it will be recomputed");
            }
            Console.WriteLine($"{verified} shard(s) verified, {stale} stale, {missing} not finished" +
                              (stale > 0 ? $"; recompute with `mipin resume {directory}`" : ""));
            return stale == 0 ? 0 : 1;
        });
        return command;
    }
}
