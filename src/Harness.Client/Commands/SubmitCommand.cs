using System.CommandLine;
using Harness.Client.Engines;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin submit CONFIG --engine local|slurm [cluster options]`: plans the same grain graph as `mipin run` and hands
/// it to an engine. With slurm: one job that is the run's own Orleans cluster (Redis membership on its first node, one
/// silo per task through srun, the coordinator), its script, secret and logs kept in {results}/{experiment}/run/;
/// follow with `mipin status`.
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
        var time = new Option<string?>("--time") { Description = "Time limit of the job, Slurm syntax (e.g. 2:00:00); default: the partition's." };
        var nodes = new Option<int>("--nodes") { Description = "Nodes of the job; its first also runs the membership store and the coordinator.", DefaultValueFactory = _ => 1 };
        var silosPerNode = new Option<int>("--silos-per-node") { Description = "Silo processes per node (srun tasks); each owns --gpus-per-silo of the node's GPUs.", DefaultValueFactory = _ => 1 };
        var gpus = new Option<int?>("--gpus-per-silo") { Description = "GPUs per silo; each GPU is one device slot. Default: 1 when the config's devices are cuda, else 0 (CPU partitions)." };
        var gpusPerNode = new Option<int?>("--gpus-per-node") { Description = "GPUs per node (--gres=gpu:G), shared evenly by its silos; instead of --gpus-per-silo." };
        var cpus = new Option<int>("--cpus-per-silo") { Description = "CPU cores per silo (--cpus-per-task); libtorch uses that many threads.", DefaultValueFactory = _ => 1 };
        var mem = new Option<string?>("--mem") { Description = "Memory per node, Slurm syntax (e.g. 16G); default: the cluster's DefMemPerCPU." };
        var retries = new Option<int>("--retries") { Description = "How often the job starts its silos again when every silo has ended before the run finished.", DefaultValueFactory = _ => 2 };
        var sbatchArg = new Option<string[]>("--sbatch-arg") { Description = "Extra sbatch option, repeatable (e.g. --sbatch-arg=--qos=long).", AllowMultipleArgumentsPerToken = false };
        var setup = new Option<string[]>("--setup") { Description = "Shell line run at the start of the job, repeatable (e.g. --setup 'module load cuda').", AllowMultipleArgumentsPerToken = false };
        var cluster = new Option<string?>("--cluster") { Description = "Use this standing cluster's membership store (redis://HOST:PORT) instead of starting Redis in the job." };
        var secret = RunCommand.SecretFileOption();
        var redis = new Option<string>("--redis-server") { Description = "The redis-server the job starts on its first node (a path, or a name on the nodes' PATH).", DefaultValueFactory = _ => "redis-server" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Write the run folder and job script and print the sbatch command without submitting." };
        var command = new Command("submit", "Plan an experiment and run it on an engine (local, or a Slurm cluster).")
            { config, set, engine, partition, account, time, nodes, silosPerNode, gpus, gpusPerNode, cpus, mem, retries, sbatchArg, setup, cluster, secret, redis, dryRun };
        command.SetAction(parse =>
        {
            var configPath = parse.GetValue(config)!.FullName;
            var overrides = parse.GetValue(set) ?? Array.Empty<string>();
            var chosen = EngineRegistry.Create(parse.GetValue(engine)!);
            if (chosen is LocalEngine && !parse.GetValue(dryRun)) return RunCommand.Run(configPath, overrides);
            var spec = Harness.Experiments.SpecLoader.Load(configPath, overrides);
            var perNode = parse.GetValue(silosPerNode);
            var gpusPerSilo = parse.GetValue(gpus);
            if (parse.GetValue(gpusPerNode) is { } g)
            {
                if (gpusPerSilo is not null) throw new CommandLineException("give --gpus-per-silo or --gpus-per-node, not both");
                if (perNode < 1 || g % perNode != 0) throw new CommandLineException($"--gpus-per-node {g} does not split evenly over --silos-per-node {perNode}");
                gpusPerSilo = g / perNode;
            }
            var options = new ClusterOptions
            {
                Partition = parse.GetValue(partition), Account = parse.GetValue(account), Time = parse.GetValue(time),
                Nodes = parse.GetValue(nodes), SilosPerNode = perNode,
                GpusPerSilo = gpusPerSilo ?? (SiloDevices.WantsCuda(spec.Devices) ? 1 : 0),
                CpusPerSilo = parse.GetValue(cpus), Memory = parse.GetValue(mem),
                Retries = parse.GetValue(retries), ExtraArgs = parse.GetValue(sbatchArg) ?? Array.Empty<string>(),
                Setup = parse.GetValue(setup) ?? Array.Empty<string>(),
                Cluster = parse.GetValue(cluster), SecretFile = parse.GetValue(secret)?.FullName, RedisServer = parse.GetValue(redis)!,
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
