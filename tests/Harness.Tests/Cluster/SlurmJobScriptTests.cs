using System.Diagnostics;
using Harness.Client.Engines;
using Harness.Experiments;

namespace Harness.Tests.Cluster;

/// <summary>
/// The job script of `mipin submit --engine slurm` run by bash with stand-ins for srun, redis-server and mipin, to pin
/// down what its log says on paths the real cluster reaches only by timing.
/// </summary>
public sealed class SlurmJobScriptTests
{
    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void WhenEverySiloFailsTheLogEndsWithTheSilosErrorsNotTheStoppedCoordinators()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the job script is bash for Linux nodes");
        // `mipin status` reports the job log's last "mipin: error:" line. The coordinator, stopped because no silo is
        // left, may print an error of its own as it goes (Orleans answers an interrupted join with "no gateway"): that
        // line must not hide why the silos failed (CI once showed "cannot join the cluster" for a CPU-only libtorch).
        var folder = Directory.CreateTempSubdirectory("mipin-job-script-");
        try
        {
            var run = Path.Combine(folder.FullName, "run");
            Directory.CreateDirectory(Path.Combine(run, "logs"));
            var bin = Directory.CreateDirectory(Path.Combine(folder.FullName, "bin")).FullName;
            const string siloError = "mipin: error: --devices cuda:0 needs 1 CUDA device(s) but libtorch sees 0";
            // srun: run the task once as task 0, its output appended to --output with %t replaced.
            Executable(bin, "srun", """
                out=
                while [[ $1 == --* ]]; do case $1 in --output=*) out=${1#--output=};; esac; shift; done
                SLURM_LOCALID=0 SLURM_PROCID=0 exec "$@" >> "${out//%t/0}" 2>&1
                """);
            Executable(bin, "redis-server", "echo 'Ready to accept connections'; exec sleep 60");
            // "dotnet mipin.dll COMMAND ...": the silo fails at once; the coordinator waits and, stopped, complains.
            Executable(bin, "dotnet", $$"""
                case $2 in
                  silo) echo "$*" > "$(dirname "$0")/silo-arguments"; echo '{{siloError}}' >&2; exit 1 ;;
                  coordinate) trap 'echo "mipin: error: cannot join the cluster: could not find any gateway" >&2; exit 1' TERM
                              while :; do sleep 0.05; done ;;
                esac
                """);
            var manifest = new RunManifest
            {
                Engine = "slurm", Experiment = "gpu", Config = "gpu.yaml", SourceConfig = "gpu.yaml", Overrides = [],
                WorkingDirectory = folder.FullName, Stages = [],
                Options = new ClusterOptions { GpusPerSilo = 1, Retries = 0, RedisServer = Path.Combine(bin, "redis-server") },
            };
            var script = Path.Combine(run, SlurmJobScript.FileName);
            File.WriteAllText(script, SlurmJobScript.Render(manifest, run, Path.Combine(bin, "dotnet"), "mipin.dll", ["cuda"], models: 3));

            // One log for both streams, in order, as sbatch --output writes it.
            var logPath = Path.Combine(run, "logs", "job.log");
            var start = new ProcessStartInfo("bash", ["-c", $"exec bash {SlurmJobScript.Quote(script)} > {SlurmJobScript.Quote(logPath)} 2>&1"]);
            start.Environment["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}";
            foreach (var (name, value) in new[]
                     {
                         ("SLURM_JOB_ID", "7"), ("SLURM_JOB_NODELIST", "node1"), ("SLURMD_NODENAME", "node1"), ("SLURM_NTASKS", "1"),
                         ("SLURM_CPUS_PER_TASK", "1"), ("CUDA_VISIBLE_DEVICES", "0"),
                     })
                start.Environment[name] = value;
            using var job = Process.Start(start)!;
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job script did not end within 60 s");
            var log = File.ReadAllText(logPath);

            Assert.True(job.ExitCode == 1, $"exit code {job.ExitCode}; log:\n{log}");
            Assert.Contains("every silo ended before the run finished", log);
            var errors = log.Split('\n').Where(l => l.StartsWith("mipin: error: ", StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count > 0 && errors[^1] == siloError, $"the last error is not the silo's; log:\n{log}");
            // The job's silos serve this run only: each slot keeps all three of its models.
            Assert.Contains("--models-per-slot 3 ", File.ReadAllText(Path.Combine(bin, "silo-arguments")) + " ");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void Executable(string folder, string name, string body)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, "#!/bin/bash\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
