namespace Harness.Silo.Cluster;

/// <summary>
/// Where a standing cluster's membership lives: a Redis server given as <c>redis://HOST:PORT</c>, and the cluster's
/// secret, the Redis password (requirepass), read from a file only its owner may read. Silos and clients without
/// the secret cannot read or join the membership table, so they never see a silo and nothing runs.
/// </summary>
public sealed record ClusterAddress(string Host, int Port, string? Password)
{
    /// <summary>Parses <paramref name="url"/> and reads the secret from <paramref name="secretFile"/> (none when null).</summary>
    /// <exception cref="FormatException">Not redis://HOST:PORT; the message shows the expected form.</exception>
    /// <exception cref="UnauthorizedAccessException">The secret file can be read by others than its owner.</exception>
    public static ClusterAddress Parse(string url, string? secretFile)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "redis" || uri.Port <= 0 || uri.Host.Length == 0
            || uri.AbsolutePath is not ("" or "/") || uri.UserInfo.Length > 0)
            throw new FormatException($"--cluster {url}: expected redis://HOST:PORT (the Redis server holding the cluster's membership; " +
                                      "pass the password with --secret-file, never in the URL)");
        return new ClusterAddress(uri.Host, uri.Port, secretFile is null ? null : ReadSecret(secretFile));
    }

    /// <summary>The StackExchange.Redis configuration string (the password included when there is one).</summary>
    public string RedisConfiguration =>
        $"{Host}:{Port},abortConnect=false,connectTimeout=5000" + (Password is null ? "" : $",password={Password}");

    public override string ToString() => $"redis://{Host}:{Port}";

    /// <summary>The secret in <paramref name="path"/> (whitespace trimmed); refuses a file readable by group or others.</summary>
    public static string ReadSecret(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: the cluster's secret file does not exist", path);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            throw new UnauthorizedAccessException($"{path}: the secret file is readable by others; run `chmod 600 {path}`");
        var secret = File.ReadAllText(path).Trim();
        if (secret.Length == 0 || secret.Any(c => c is ',' or '\n' or '\r'))
            throw new FormatException($"{path}: the secret must be one line without commas");
        return secret;
    }

    /// <summary>Writes a new random secret to <paramref name="path"/> with mode 0600 (see <see cref="WriteOwnerOnly"/>).</summary>
    public static string CreateSecret(string path)
    {
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        WriteOwnerOnly(path, secret + "\n");
        return secret;
    }

    /// <summary>
    /// Writes <paramref name="text"/> to a file only its owner may read (mode 0600), created with that mode before anything
    /// is written into it. An existing file is removed first: a file's mode is set only when it is created.
    /// </summary>
    public static void WriteOwnerOnly(string path, string text)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(new FileStream(path, options));
        writer.Write(text);
    }
}
