using System.Globalization;
using System.Text;
using Harness.Experiments;

namespace Harness.Client.Engines;

/// <summary>
/// The one sbatch script of a Slurm run (run/run.sbatch), kept in the run folder so a user can read and resubmit it.
/// The job is a whole Orleans cluster for the run: on its first node it starts the membership store (redis-server
/// with the run's secret, unless the run names a standing cluster), one silo per task through <c>srun</c> (each owns
/// its share of its node's GPUs), and the run's coordinator (<c>mipin coordinate</c>), which hands each grain to a
/// free device slot as soon as its own dependencies are done: a model's scoring starts when its inverse is trained.
/// When the coordinator ends, the silos and Redis are stopped and the job exits with the coordinator's status.
/// A requeued job (preemption, node failure) starts the cluster again and the coordinator skips finished grains.
/// </summary>
public static class SlurmJobScript
{
    public const string FileName = "run.sbatch";

    public static string LogPath(string runDirectory) => Path.Combine(runDirectory, "logs", "job.log");

    /// <summary>The secret of a cluster the job starts (the Redis password and the TLS identity), mode 0600.</summary>
    public static string SecretPath(string runDirectory) => Path.Combine(runDirectory, "cluster.secret");

    /// <summary>The job's redis-server configuration (holds the secret, mode 0600).</summary>
    public static string RedisConfigPath(string runDirectory) => Path.Combine(runDirectory, "redis.conf");

    /// <param name="dotnet">The dotnet host that runs mipin.dll on the nodes.</param>
    /// <param name="mipinDll">The CLI, reachable under the same path on every node (a shared file system).</param>
    /// <param name="models">The run's models: its silos serve this run only, so each slot keeps all of them.</param>
    public static string Render(RunManifest manifest, string runDirectory, string dotnet, string mipinDll, IReadOnlyList<string> specDevices,
        int models = 1)
    {
        var o = manifest.Options;
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# MipIn run of experiment '{manifest.Experiment}' as one Slurm job, written by `mipin submit` on {manifest.CreatedUtc:yyyy-MM-dd HH:mm} UTC:\n");
        s.Append($"# {o.Nodes} node(s) × {o.SilosPerNode} silo(s), an Orleans cluster for this run; `mipin status` / `resume` / `cancel` follow it.\n");
        s.Append($"# By hand: sbatch {Quote(Path.Combine(runDirectory, FileName))}\n");
        void Directive(string flag) => s.Append("#SBATCH ").Append(flag).Append('\n');
        Directive($"--job-name=mipin-{manifest.Experiment}");
        Directive($"--output={LogPath(runDirectory)}");
        Directive("--open-mode=append");
        Directive("--requeue");
        Directive($"--nodes={o.Nodes}");
        Directive($"--ntasks-per-node={o.SilosPerNode}");
        Directive($"--cpus-per-task={o.CpusPerSilo}");
        if (o.GpusPerSilo > 0) Directive($"--gres=gpu:{o.GpusPerSilo * o.SilosPerNode}");
        if (o.Partition is { } p) Directive($"--partition={p}");
        if (o.Account is { } a) Directive($"--account={a}");
        if (o.Time is { } t) Directive($"--time={t}");
        if (o.Memory is { } m) Directive($"--mem={m}");
        foreach (var extra in o.ExtraArgs) Directive(extra);
        s.Append("set -u\n");
        s.Append($"cd {Quote(manifest.WorkingDirectory)} || exit 3\n");
        foreach (var line in o.Setup) s.Append(line).Append('\n');
        s.Append($"run={Quote(runDirectory)}\n");
        s.Append($"mipin=({Quote(dotnet)} {Quote(mipinDll)})\n");
        s.Append(CultureInfo.InvariantCulture, $"retries={o.Retries}\nsilos_per_node={o.SilosPerNode}\ngpus_per_silo={o.GpusPerSilo}\n");
        s.Append(CultureInfo.InvariantCulture, $"models_per_slot={Math.Max(models, Harness.Grains.GrainContext.DefaultMaxModels)}\n");
        s.Append($"silo_devices={(specDevices.Any(d => d.StartsWith("cuda", StringComparison.Ordinal)) ? "cuda" : "cpu")}\n");
        s.Append("""
            log() { echo "[mipin] $(date -u +%FT%TZ) $*"; }
            log "job ${SLURM_JOB_ID} (requeue ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST}: ${SLURM_NTASKS} silo(s)"
            pids=()
            stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait; }
            trap 'log "stopping (SIGTERM: cancelled, requeued or out of time); finished grains are kept"; stop_all; exit 143' TERM INT

            """);
        if (o.Cluster is { } standing)
        {
            s.Append($"cluster={Quote(standing)}\n");
            s.Append(o.SecretFile is { } f ? $"secret={Quote(f)}\n" : "secret=\n");
        }
        else
        {
            s.Append($"redis_server={Quote(o.RedisServer)}\nsecret=\"$run/cluster.secret\"\n");
            s.Append("""
                # The membership store on this (the first) node: a free port near 20000 + job id, the run's password.
                head="${SLURMD_NODENAME:-$(hostname)}"
                port=$((20000 + SLURM_JOB_ID % 20000))
                while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
                "$redis_server" "$run/redis.conf" --port "$port" > "$run/logs/redis.log" 2>&1 &
                pids+=($!)
                for _ in $(seq 1 100); do grep -q "Ready to accept connections" "$run/logs/redis.log" 2>/dev/null && break; sleep 0.1; done
                grep -q "Ready to accept connections" "$run/logs/redis.log" || { log "redis-server did not start:"; cat "$run/logs/redis.log"; stop_all; exit 3; }
                cluster="redis://$head:$port"
                log "membership store $cluster"

                """);
        }
        s.Append("""
            secret_args=()
            [[ -n "$secret" ]] && secret_args=(--secret-file "$secret")
            # One silo per task; each takes its share of its node's GPUs (Slurm lists them in CUDA_VISIBLE_DEVICES).
            silos() {
              exec srun --kill-on-bad-exit=0 --cpus-per-task="$SLURM_CPUS_PER_TASK" --output="$run/logs/silo-%t.log" --open-mode=append bash -c '
                devices=cpu
                if (( gpus_per_silo > 0 )); then
                  IFS=, read -ra all <<< "${CUDA_VISIBLE_DEVICES:-}"
                  mine=$(IFS=,; echo "${all[*]:$((SLURM_LOCALID * gpus_per_silo)):$gpus_per_silo}")
                  export CUDA_VISIBLE_DEVICES="$mine"
                  if [[ $silo_devices == cuda ]]; then devices=$(seq -s, -f "cuda:%g" 0 $((gpus_per_silo - 1))); fi
                fi
                echo "[mipin] silo $SLURMD_NODENAME-$SLURM_PROCID: devices $devices, CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset}"
                exec "$@" --name "$SLURMD_NODENAME-$SLURM_PROCID" --devices "$devices"
              ' silo "${mipin[@]}" silo --cluster "$cluster" "${secret_args[@]}" --port 0 --gateway-port 0 --models-per-slot "$models_per_slot"
            }
            export gpus_per_silo silo_devices
            # The silos run until the coordinator is done; a silo step that ends early (every silo lost) is started again.
            (
              trap 'kill -TERM "$step" 2>/dev/null; wait "$step"; exit 0' TERM
              for attempt in $(seq 1 $((retries + 1))); do
                silos &
                step=$!
                wait "$step"
                log "silo step ended (exit $?, attempt $attempt)"
              done
            ) &
            silo_loop=$!
            pids+=("$silo_loop")

            # The coordinator starts grains once all of the job's silos are active (see ClusterScheduler.WaitForSilos).
            "${mipin[@]}" coordinate "$run" --cluster "$cluster" "${secret_args[@]}" --take-over --wait-for-silos "$SLURM_NTASKS" &
            coordinator=$!
            wait -n -p ended "$coordinator" "$silo_loop"
            status=$?
            if [[ "$ended" != "$coordinator" ]]; then
              # No silo is left to run the grains: stop the coordinator, then say why (the silos' last errors) instead of
              # waiting for the time limit. Printed last, so `mipin status` shows them rather than the coordinator's exit.
              kill -TERM "$coordinator" 2>/dev/null
              wait "$coordinator"
              log "every silo ended before the run finished; their last errors:"
              grep -h "^mipin: error: " "$run"/logs/silo-*.log 2>/dev/null | tail -n 3
              status=1
            fi
            log "coordinator exited with status $status"
            stop_all
            exit "$status"

            """);
        return s.ToString();
    }

    /// <summary>Quotes a word for bash: inside single quotes nothing is special except the quote itself.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
}
