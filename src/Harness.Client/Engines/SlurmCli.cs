using System.Diagnostics;
using Harness.Client.Commands;

namespace Harness.Client.Engines;

/// <summary>One job as Slurm reports it: job id, state (PENDING, RUNNING, COMPLETED ...) and reason.</summary>
public sealed record SlurmJobInfo(string JobId, string State, string Reason);

/// <summary>
/// The Slurm client commands MipIn uses (sbatch, squeue, sacct, scancel), run as child processes. SLURM_CONF and the
/// rest of the environment are inherited, so the commands talk to whatever cluster the user's shell does.
/// </summary>
public sealed class SlurmCli
{
    /// <summary>Submits a batch script: `sbatch --parsable ARGS SCRIPT`; returns the job id.</summary>
    public string Submit(IReadOnlyList<string> arguments)
    {
        var (code, stdout, stderr) = Run("sbatch", new[] { "--parsable" }.Concat(arguments).ToList());
        if (code != 0) throw new CommandLineException($"sbatch failed (exit {code}): {stderr.Trim()}");
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        var id = stdout.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsDigit)) throw new CommandLineException($"sbatch printed no job id: '{stdout.Trim()}' {stderr.Trim()}");
        return id;
    }

    /// <summary>
    /// The jobs of <paramref name="jobIds"/> that squeue still knows (pending, running, and recently finished ones,
    /// kept for MinJobAge), completed by sacct where accounting is enabled.
    /// </summary>
    public IReadOnlyList<SlurmJobInfo> Query(IReadOnlyCollection<string> jobIds)
    {
        if (jobIds.Count == 0) return Array.Empty<SlurmJobInfo>();
        var jobs = new Dictionary<string, SlurmJobInfo>(StringComparer.Ordinal);
        var (code, stdout, stderr) = Run("squeue", new[] { "--noheader", "--states=all", $"--jobs={string.Join(",", jobIds)}", "--format=%i|%T|%r" });
        if (code != 0 && !stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
            throw new CommandLineException($"squeue failed (exit {code}): {stderr.Trim()}");
        foreach (var info in ParseLines(stdout)) jobs[info.JobId] = info;
        // sacct remembers jobs squeue has forgotten; where accounting is disabled it fails and squeue is all there is.
        var (acode, aout, _) = Run("sacct", new[] { "--noheader", "--parsable2", "--allocations", $"--jobs={string.Join(",", jobIds)}", "--format=JobID,State,Reason" });
        if (acode == 0)
            foreach (var info in ParseLines(aout))
                jobs.TryAdd(info.JobId, info);
        return jobs.Values.ToList();
    }

    /// <summary>Cancels jobs.</summary>
    public void Cancel(IReadOnlyCollection<string> jobIds)
    {
        if (jobIds.Count == 0) return;
        var (code, _, stderr) = Run("scancel", jobIds.ToList());
        if (code != 0 && !stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
            throw new CommandLineException($"scancel failed (exit {code}): {stderr.Trim()}");
    }

    /// <summary>Parses "JOBID|STATE|REASON" lines (squeue %i|%T|%r, sacct JobID|State|Reason); steps and array elements are ignored.</summary>
    public static IEnumerable<SlurmJobInfo> ParseLines(string text)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            // Steps are JOB.batch, JOB.0 ...; array elements JOB_TASK: MipIn submits neither as its own job.
            if (parts.Length < 2 || parts[0].Length == 0 || !parts[0].All(char.IsDigit)) continue;
            // sacct writes "CANCELLED by 0"; keep the state word.
            var state = parts[1].Split(' ')[0].TrimEnd('+');
            yield return new SlurmJobInfo(parts[0], state, parts.Length > 2 ? parts[2] : "");
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(string command, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CommandLineException($"could not start {command}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new CommandLineException($"{command} not found: the slurm engine needs the Slurm client commands on PATH " +
                                           "(Debian: apt-get install slurm-client; on one machine scripts/slurm-local.sh start runs a local cluster)");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout, stderr.Result);
        }
    }
}
