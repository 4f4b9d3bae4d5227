using System.CommandLine;
using Harness.Client.Engines;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin submit CONFIG --engine local|slurm [cluster options]`: plans the same grain graph as `mipin run` and hands
/// it to an engine. With slurm: one `sbatch --array` per stage (train → score → aggregate, chained with
/// --dependency=afterok), scripts and logs kept in {results}/{experiment}/run/; follow with `mipin status`.
/// </summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var config = RunCommand.ConfigArgument();
        var set = RunCommand.SetOption();
        var engine = new Option<string>("--engine") { Description = $"Where the grains run: {string.Join(" | ", EngineRegistry.Names)}.", DefaultValueFactory = _ => "local" };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition (default: the cluster's default partition)." };
        var account = new Option<string?>("--account") { Description = "Slurm account to charge." };
        var time = new Option<string?>("--time") { Description = "Time limit per array task, Slurm syntax (e.g. 2:00:00); default: the partition's." };
        var gpus = new Option<int?>("--gpus-per-silo") { Description = "GPUs per array task (--gres=gpu:N); each silo runs one grain per GPU. Default: 1 when the config's devices are cuda, else 0 (CPU partitions)." };
        var cpus = new Option<int>("--cpus-per-silo") { Description = "CPU cores per array task (--cpus-per-task).", DefaultValueFactory = _ => 1 };
        var mem = new Option<string?>("--mem") { Description = "Memory per array task, Slurm syntax (e.g. 16G); default: the cluster's DefMemPerCPU." };
        var maxParallel = new Option<int?>("--max-parallel") { Description = "At most this many tasks of a stage at once (--array=...%N)." };
        var retries = new Option<int>("--retries") { Description = "Retries of a failed task in its allocation, and requeues (preemption) allowed, before it is reported failed.", DefaultValueFactory = _ => 2 };
        var sbatchArg = new Option<string[]>("--sbatch-arg") { Description = "Extra sbatch option for every stage, repeatable (e.g. --sbatch-arg=--qos=long).", AllowMultipleArgumentsPerToken = false };
        var setup = new Option<string[]>("--setup") { Description = "Shell line run before each silo, repeatable (e.g. --setup 'module load cuda').", AllowMultipleArgumentsPerToken = false };
        var dryRun = new Option<bool>("--dry-run") { Description = "Write the run folder and batch scripts and print the sbatch commands without submitting." };
        var command = new Command("submit", "Plan an experiment and run it on an engine (local, or a Slurm cluster).")
            { config, set, engine, partition, account, time, gpus, cpus, mem, maxParallel, retries, sbatchArg, setup, dryRun };
        command.SetAction(parse =>
        {
            var configPath = parse.GetValue(config)!.FullName;
            var overrides = parse.GetValue(set) ?? Array.Empty<string>();
            var chosen = EngineRegistry.Create(parse.GetValue(engine)!);
            if (chosen is LocalEngine && !parse.GetValue(dryRun)) return RunCommand.Run(configPath, overrides);
            var spec = Harness.Experiments.SpecLoader.Load(configPath, overrides);
            var options = new ClusterOptions
            {
                Partition = parse.GetValue(partition), Account = parse.GetValue(account), Time = parse.GetValue(time),
                GpusPerSilo = parse.GetValue(gpus) ?? (SiloDevices.WantsCuda(spec.Devices) ? 1 : 0),
                CpusPerSilo = parse.GetValue(cpus), Memory = parse.GetValue(mem), MaxParallel = parse.GetValue(maxParallel),
                Retries = parse.GetValue(retries), ExtraArgs = parse.GetValue(sbatchArg) ?? Array.Empty<string>(),
                Setup = parse.GetValue(setup) ?? Array.Empty<string>(),
            };
            var run = RunController.Submit(configPath, overrides, chosen, options, parse.GetValue(dryRun));
            Console.WriteLine($"run folder: {run.Directory}");
            Console.WriteLine(parse.GetValue(dryRun)
                ? $"dry run: nothing submitted; scripts are in {run.Directory}"
                : $"follow: mipin status {run.Directory} [--wait]   resume: mipin resume {run.Directory}   cancel: mipin cancel {run.Directory}");
            return 0;
        });
        return command;
    }
}
