using System.CommandLine;
using System.Net;
using Harness.Grains;
using Harness.Silo;
using Harness.Silo.Cluster;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin silo --cluster redis://HOST:PORT`: runs a silo of a standing cluster on this machine until SIGINT/SIGTERM,
/// offering one device slot per --devices entry. Runs sent with `mipin run CONFIG --cluster redis://HOST:PORT` use it.
/// The spec, data and results paths of those runs must be readable here under the same names (a shared file system).
/// </summary>
public static class SiloCommand
{
    public static Command Create()
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster's membership store, redis://HOST:PORT.", Required = true };
        var devices = new Option<string>("--devices") { Description = "Device slots, comma-separated: cpu (repeat for several CPU slots) or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var name = new Option<string?>("--name") { Description = "The silo's name in the cluster (default HOST-PID); unique per cluster." };
        var port = new Option<int>("--port") { Description = "Silo-to-silo TCP port (0: a free one).", DefaultValueFactory = _ => 11111 };
        var gateway = new Option<int>("--gateway-port") { Description = "TCP port clients connect to (0: a free one).", DefaultValueFactory = _ => 30000 };
        var advertise = new Option<string?>("--advertise") { Description = "Address other machines reach this silo at (default: loopback for a local Redis, else this host's first IPv4 address)." };
        var secret = RunCommand.SecretFileOption();
        var dashboard = new Option<int?>("--dashboard")
        {
            Description = "Serve the Orleans dashboard (grains, silos, call rates) on http://127.0.0.1:PORT/ (loopback only: it has no login; use an SSH tunnel)." +
                (SiloDashboard.Included ? "" : " Not in this build (the GPU device package leaves it out)."),
        };
        var modelsPerSlot = new Option<int>("--models-per-slot")
        {
            Description = "Models each device slot keeps loaded between grains; loading one more unloads the least recently used (a standing silo serves run after run). Raise it when runs alternate between more models and memory allows.",
            DefaultValueFactory = _ => GrainContext.DefaultMaxModels,
        };
        var command = new Command("silo", "Run a silo of a standing cluster on this machine (until Ctrl+C).") { cluster, devices, name, port, gateway, advertise, secret, dashboard, modelsPerSlot };
        command.SetAction(parse =>
        {
            if (parse.GetValue(dashboard) is not null && !SiloDashboard.Included)
                throw new CommandLineException($"--dashboard: {SiloDashboard.NotIncludedMessage}");
            var keep = parse.GetValue(modelsPerSlot);
            if (keep < 1) throw new CommandLineException($"--models-per-slot {keep}: a slot keeps at least 1 model (default {GrainContext.DefaultMaxModels})");
            var address = ClusterAddress.Parse(parse.GetValue(cluster)!, parse.GetValue(secret)?.FullName);
            var slots = SiloDevices.Parse(parse.GetValue(devices)!, Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count);
            var identity = new SiloIdentity(parse.GetValue(name) ?? $"{Environment.MachineName}-{Environment.ProcessId}", slots) { ModelsPerSlot = keep };
            var at = parse.GetValue(advertise) is { } a ? IPAddress.Parse(a) : StandingCluster.DefaultAdvertise(address);
            using var stop = new Interruption();
            StandingCluster.RunSiloAsync(address, identity, at, parse.GetValue(port), parse.GetValue(gateway), m => Console.Error.WriteLine(m), stop.Token,
                parse.GetValue(dashboard)).GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }
}
