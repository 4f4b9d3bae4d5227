using Harness.Silo.Cluster;

namespace Harness.Tests.Cluster;

/// <summary>The cluster's secret: its file, its URL, and the TLS identity it determines.</summary>
public sealed class ClusterSecretTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mipin-secret-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TlsAcceptsOnlyPeersHoldingTheSameSecret()
    {
        var a = new ClusterTls("first-secret");
        var again = new ClusterTls("first-secret");
        var other = new ClusterTls("second-secret");
        Assert.True(a.IsClusterPeer(again.Certificate));   // another member: its own certificate, the same key
        Assert.True(a.Certificate.HasPrivateKey);
        Assert.False(a.IsClusterPeer(other.Certificate));
        Assert.False(a.IsClusterPeer(null));
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        using var stranger = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=mipin-cluster", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.False(a.IsClusterPeer(stranger)); // same subject name, no key of the secret
    }

    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void SecretFileMustBeOwnerOnly()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Unix file modes");
        var path = Path.Combine(_dir, "cluster.secret");
        var secret = ClusterAddress.CreateSecret(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(secret, ClusterAddress.Parse("redis://127.0.0.1:6379", path).Password);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var e = Assert.Throws<UnauthorizedAccessException>(() => ClusterAddress.Parse("redis://127.0.0.1:6379", path));
        Assert.Contains($"chmod 600 {path}", e.Message);
    }

    [Theory]
    [InlineData("http://host:6379")]
    [InlineData("redis://host")]
    [InlineData("redis://:password@host:6379")]
    [InlineData("host:6379")]
    public void ClusterUrlIsRedisHostPortWithoutPassword(string url)
    {
        var e = Assert.Throws<FormatException>(() => ClusterAddress.Parse(url, null));
        Assert.Contains("expected redis://HOST:PORT", e.Message);
    }

    [Fact]
    public void RedisConfigurationCarriesThePassword()
    {
        var address = new ClusterAddress("head", 6390, "s3cret");
        Assert.Equal("head:6390,abortConnect=false,connectTimeout=5000,password=s3cret", address.RedisConfiguration);
        Assert.Equal("redis://head:6390", address.ToString()); // never the password
    }

    [SkippableFact]
    public async Task RedisSaysWhetherItAcceptsTheSecret()
    {
        int port;
        await using (var redis = await LoopbackRedis.StartAsync("right"))
        {
            port = redis.Port;
            await RedisCredentialsCheck.EnsureAcceptedAsync(new ClusterAddress("127.0.0.1", port, "right"), CancellationToken.None);
            var none = await Assert.ThrowsAsync<ClusterUnavailableException>(() => RedisCredentialsCheck.EnsureAcceptedAsync(new ClusterAddress("127.0.0.1", port, null), CancellationToken.None));
            Assert.Contains("NOAUTH", none.Message);
            Assert.Contains("--secret-file", none.Message);
            var wrong = await Assert.ThrowsAsync<ClusterUnavailableException>(() => RedisCredentialsCheck.EnsureAcceptedAsync(new ClusterAddress("127.0.0.1", port, "wrong"), CancellationToken.None));
            Assert.Contains("WRONGPASS", wrong.Message);
        }
        var down = await Assert.ThrowsAsync<ClusterUnavailableException>(() => RedisCredentialsCheck.EnsureAcceptedAsync(new ClusterAddress("127.0.0.1", port, "right"), CancellationToken.None));
        Assert.Contains("does not answer", down.Message);
    }
}
