using System.Diagnostics;
using System.Globalization;
using Harness.Silo.Cluster;

namespace Harness.Tests.Cluster;

/// <summary>
/// A redis-server on a free loopback port with a password, ready when created, killed when disposed; the test is skipped
/// where redis-server is not installed.
/// </summary>
public sealed class LoopbackRedis : IAsyncDisposable
{
    /// <summary>Debian's redis-server, which scripts/bootstrap.sh --tests installs.</summary>
    public const string Server = "/usr/bin/redis-server";
    private readonly Process _process;

    private LoopbackRedis(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<LoopbackRedis> StartAsync(string password)
    {
        SkipUnlessInstalled();
        var port = OrleansSetup.FreePort();
        var start = new ProcessStartInfo(Server) { RedirectStandardOutput = true };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--requirepass", password })
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        while (await process.StandardOutput.ReadLineAsync() is { } line && !line.Contains("Ready to accept connections", StringComparison.Ordinal)) { }
        return new LoopbackRedis(process, port);
    }

    /// <summary>Skips the calling test where redis-server is not installed, saying how to install it.</summary>
    public static void SkipUnlessInstalled() =>
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(Server), $"{Server} is missing: run scripts/bootstrap.sh --tests (the README's test command does)");

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
