using System.Reflection;
using Harness.Silo.Cluster;
using Orleans.Runtime;

namespace Harness.Tests.Cluster;

/// <summary>
/// The live view of `mipin status --watch` (<see cref="StandingCluster.ActivityAsync"/>) when the silo that carries its
/// membership question has just been killed: Orleans then fails the call (it is routed through a silo the cluster has
/// not yet declared dead), and the view shows progress from the run's files instead of crashing. A failure that is not
/// a silo loss is a bug and is thrown.
/// </summary>
public sealed class LiveViewTests
{
    [Fact]
    public async Task AMembershipQueryLostWithItsSiloGivesNoSlotListInsteadOfACrash()
    {
        Assert.Null(await StandingCluster.ActivityAsync(ClientWhoseMembershipQueryFails(CallThroughLostSilo()), TimeSpan.FromSeconds(3)));
        Assert.Null(await StandingCluster.ActivityAsync(ClientWhoseMembershipQueryFails(new SiloUnavailableException()), TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task AFailureThatIsNotASiloLossIsThrown()
    {
        var bug = new NullReferenceException("a bug");
        Assert.Same(bug, await Assert.ThrowsAsync<NullReferenceException>(() => StandingCluster.ActivityAsync(ClientWhoseMembershipQueryFails(bug), TimeSpan.FromSeconds(3))));
    }

    /// <summary>What a call routed through a silo that was just killed fails with, as CI saw it (its constructor is internal to Orleans).</summary>
    internal static Exception CallThroughLostSilo() =>
        (Exception)Activator.CreateInstance(typeof(OrleansMessageRejectionException), BindingFlags.NonPublic | BindingFlags.Instance, null,
            ["Exception while sending message: ConnectionFailedException: Unable to connect to S127.0.0.1:42757:155105101"], null)!;

    private static IClusterClient ClientWhoseMembershipQueryFails(Exception failure)
    {
        var management = DispatchProxy.Create<IManagementGrain, FailingManagementGrain>();
        ((FailingManagementGrain)(object)management).Failure = failure;
        return ClientWith(management);
    }

    /// <summary>A fake client whose only grain is <paramref name="management"/>.</summary>
    internal static IClusterClient ClientWith(IManagementGrain management)
    {
        var client = DispatchProxy.Create<IClusterClient, FakeClient>();
        ((FakeClient)(object)client).Management = management;
        return client;
    }

    /// <summary>A client whose only grain is the management grain; any other call is a test error.</summary>
    public class FakeClient : DispatchProxy
    {
        public IManagementGrain Management = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method is { Name: "GetGrain" } && method.ReturnType == typeof(IManagementGrain) ? Management
                : throw new NotSupportedException($"the fake client has no {method?.Name}");
    }

    /// <summary>A management grain whose membership query fails as a call through a lost silo does.</summary>
    public class FailingManagementGrain : DispatchProxy
    {
        public Exception Failure = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method is { Name: nameof(IManagementGrain.GetDetailedHosts) } ? Task.FromException<MembershipEntry[]>(Failure)
                : throw new NotSupportedException($"the fake management grain has no {method?.Name}");
    }
}
