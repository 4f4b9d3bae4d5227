using System.Globalization;
using System.Text;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Client.Engines;

/// <summary>
/// The sbatch script of one stage, kept in the run folder so a user can read and resubmit it. Each array task starts
/// a silo for task $SLURM_ARRAY_TASK_ID and retries it in the same allocation up to the retry limit (a silo killed
/// mid-grain leaves no partial output, so a retry simply redoes that grain). Slurm requeues a preempted task
/// (--requeue); the silo gives up (exit 3) when SLURM_RESTART_COUNT exceeds the retry limit and its grains are still
/// not done. A task that gives up writes run/failed/STAGE-TASK.txt with its log path, which `mipin status` shows.
/// </summary>
public static class SlurmBatchScript
{
    public static string FileName(int stageNumber, string stage) => $"stage-{stageNumber}-{stage}.sbatch";

    public static string LogPattern(string runDirectory, string stage) => Path.Combine(runDirectory, "logs", $"{stage}-%a.log");

    public static string LogPath(string runDirectory, string stage, int task) => Path.Combine(runDirectory, "logs", $"{stage}-{task}.log");

    public static string FailurePath(string runDirectory, string stage, int task) => Path.Combine(runDirectory, "failed", $"{stage}-{task}.txt");

    public static string Render(RunManifest manifest, string runDirectory, RunStage stage, string dotnet, string siloDll, int grainsPerTask)
    {
        var o = manifest.Options;
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# MipIn silos for stage '{stage.Name}' of experiment '{manifest.Experiment}' ({stage.Tasks.Count} task(s), ");
        s.Append($"{grainsPerTask} grain(s) per task), written by `mipin submit` on {manifest.CreatedUtc:yyyy-MM-dd HH:mm} UTC.\n");
        s.Append("# Task i runs the grains listed under stages/tasks[i] of run.json. `mipin resume` resubmits what is missing;\n");
        s.Append($"# by hand: sbatch --array=0-{stage.Tasks.Count - 1} [--dependency=afterok:JOBID] {FileName(manifest.Stages.ToList().IndexOf(stage) + 1, stage.Name)}\n");
        void Directive(string flag) => s.Append("#SBATCH ").Append(flag).Append('\n');
        Directive($"--job-name=mipin-{manifest.Experiment}-{stage.Name}");
        Directive($"--output={LogPattern(runDirectory, stage.Name)}");
        Directive("--open-mode=append");
        Directive("--requeue");
        Directive($"--cpus-per-task={o.CpusPerSilo}");
        if (o.GpusPerSilo > 0) Directive($"--gres=gpu:{o.GpusPerSilo}");
        if (o.Partition is { } p) Directive($"--partition={p}");
        if (o.Account is { } a) Directive($"--account={a}");
        if (o.Time is { } t) Directive($"--time={t}");
        if (o.Memory is { } m) Directive($"--mem={m}");
        foreach (var extra in o.ExtraArgs) Directive(extra);
        s.Append("set -u\n");
        s.Append($"cd {Quote(manifest.WorkingDirectory)} || exit 3\n");
        foreach (var line in o.Setup) s.Append(line).Append('\n');
        s.Append($"run={Quote(runDirectory)}\nstage={stage.Name}\n");
        s.Append("task=\"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch --array=...}\"\n");
        s.Append("failed=\"$run/failed/$stage-$task.txt\"\n");
        s.Append(CultureInfo.InvariantCulture, $"retries={o.Retries}\n");
        s.Append("""
            requeues="${SLURM_RESTART_COUNT:-0}"
            give_up() {
              mkdir -p "$run/failed"
              echo "$1 on $(hostname) at $(date -u +%FT%TZ); log: $run/logs/$stage-$task.log" > "$failed"
              echo "[mipin] giving up: $1"
            }
            status=1
            for attempt in $(seq 1 $((retries + 1))); do
              echo "[mipin] $(date -u +%FT%TZ) $stage task $task attempt $attempt (requeue $requeues) on $(hostname), CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset}"

            """);
        s.Append($"  {Quote(dotnet)} {Quote(siloDll)} task \"$run\" \"$stage\" \"$task\" --max-requeues \"$retries\"\n");
        s.Append("""
              status=$?
              if (( status == 0 )); then rm -f "$failed"; exit 0; fi
              echo "[mipin] attempt $attempt failed with exit status $status"
              if (( status == 3 )); then break; fi # the task cannot run as configured: retrying cannot help
            done
            give_up "exit status $status after $attempt attempt(s)"
            exit "$status"

            """);
        return s.ToString();
    }

    /// <summary>Quotes a word for bash: inside single quotes nothing is special except the quote itself.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>Compresses task indices to Slurm's array syntax: [0,1,2,5,7,8] → "0-2,5,7-8".</summary>
    public static string ArraySpec(IReadOnlyList<int> tasks)
    {
        var sorted = tasks.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? sorted[i].ToString(CultureInfo.InvariantCulture) : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
