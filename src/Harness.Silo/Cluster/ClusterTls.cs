using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Harness.Silo.Cluster;

/// <summary>
/// Mutual TLS between the silos and clients of a cluster (Microsoft.Orleans.Connections.Security), keyed by the
/// cluster's secret so that one file is all a member needs: the secret determines a P-256 key (its private scalar is
/// SHA-256("mipin-cluster-tls:" + secret)); every member presents a self-signed certificate for that key and accepts
/// a peer only when the peer's certificate carries the same public key. Completing the handshake proves possession
/// of the private key, which only holders of the secret can compute; everything on the wire is encrypted.
/// </summary>
public sealed class ClusterTls
{
    private readonly byte[] _publicKey;

    public ClusterTls(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        using var key = KeyOf(secret);
        _publicKey = key.ExportSubjectPublicKeyInfo();
        var request = new CertificateRequest("CN=mipin-cluster", key, HashAlgorithmName.SHA256);
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        Certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>This member's certificate (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Whether <paramref name="remote"/> belongs to a holder of the same secret.</summary>
    public bool IsClusterPeer(X509Certificate2? remote)
    {
        using var key = remote?.GetECDsaPublicKey();
        return key is not null && key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_publicKey);
    }

    private static ECDsa KeyOf(string secret)
    {
        var d = SHA256.HashData(Encoding.UTF8.GetBytes("mipin-cluster-tls:" + secret));
        var key = ECDsa.Create();
        // The public point is derived from D by the platform (OpenSSL) on import.
        key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
        return key;
    }
}
