using System.Net.Sockets;
using System.Text;

namespace Harness.Silo.Cluster;

/// <summary>
/// Asks a cluster's Redis server, before Orleans does, whether it accepts our credentials. StackExchange.Redis reports
/// a refused password in different ways depending on timing (NOAUTH, an AuthenticationFailure in a backlog timeout,
/// or a plain UnableToConnect), so the refusal is read straight from Redis: one AUTH (when we have a secret) and one
/// PING in the RESP protocol; Redis answers <c>-NOAUTH</c> or <c>-WRONGPASS</c> to a client it refuses.
/// </summary>
public static class RedisCredentialsCheck
{
    /// <summary>Throws a <see cref="ClusterUnavailableException"/> naming the fix when Redis is unreachable or refuses us.</summary>
    public static async Task EnsureAcceptedAsync(ClusterAddress cluster, CancellationToken cancellation)
    {
        string reply;
        try
        {
            reply = await PingAsync(cluster, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            throw new ClusterUnavailableException($"cannot join the cluster at {cluster}: its Redis server does not answer ({e.Message}); " +
                "start it, or check the host and port of --cluster", e);
        }
        if (reply.StartsWith("-NOAUTH", StringComparison.Ordinal) || reply.StartsWith("-WRONGPASS", StringComparison.Ordinal)
            || reply.StartsWith("-ERR invalid password", StringComparison.Ordinal))
            throw new ClusterUnavailableException($"cannot join the cluster at {cluster}: Redis refused this client's credentials " +
                $"({reply.TrimStart('-')}): pass the cluster's secret with --secret-file",
                new InvalidOperationException(reply));
    }

    /// <summary>The first line Redis answers to AUTH (when there is a password) and PING: "+PONG" when accepted.</summary>
    private static async Task<string> PingAsync(ClusterAddress cluster, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(cluster.Host, cluster.Port, timeout.Token).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var request = (cluster.Password is { } p ? Command("AUTH", p) : "") + Command("PING");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var first = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) ?? throw new IOException("Redis closed the connection");
            // With a password the first line answers AUTH; an accepted AUTH is followed by PING's answer.
            if (cluster.Password is not null && first == "+OK")
                first = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) ?? throw new IOException("Redis closed the connection");
            return first;
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer from {cluster.Host}:{cluster.Port} within 5 s");
        }
    }

    // A RESP array of bulk strings, the form Redis expects from clients.
    private static string Command(params string[] parts)
    {
        var text = new StringBuilder($"*{parts.Length}\r\n");
        foreach (var part in parts) text.Append($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        return text.ToString();
    }
}
