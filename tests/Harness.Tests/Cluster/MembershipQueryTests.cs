using System.Reflection;
using Harness.Silo.Cluster;
using Orleans.Runtime;

namespace Harness.Tests.Cluster;

/// <summary>
/// The coordinator's question "which silos are active?" (<see cref="ClusterScheduler"/>) after a silo is killed: the
/// call goes through one gateway silo, and until the cluster declares the killed one dead the client may keep routing
/// it there. Such failures are asked again for <see cref="ClusterScheduler.SiloLossPatience"/>; any other failure
/// (the membership store gone) ends the run after a few attempts, with a message saying what to do.
/// </summary>
public sealed class MembershipQueryTests
{
    [Fact]
    public async Task AQueryLostWithAKilledSiloIsAskedAgainUntilTheClusterMovesOn()
    {
        // Six lost calls: more than the four attempts that ended a CI run while its other silo was active.
        var management = Management(Enumerable.Repeat<object>(LiveViewTests.CallThroughLostSilo(), 6).Append(new[] { Active("node-1") }));
        var log = new List<string>();
        var scheduler = new ClusterScheduler(LiveViewTests.ClientWith(management), log.Add) { WaitForSilos = 1, MembershipRetryDelay = TimeSpan.FromMilliseconds(1) };
        Assert.Equal(1, await scheduler.WaitForSilosAsync(CancellationToken.None));
        Assert.Equal(7, ((ScriptedManagementGrain)(object)management).Calls);
        Assert.Equal(6, log.Count(l => l.Contains("membership query failed (OrleansMessageRejectionException); asking again", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AQueryNeverAnsweredIsAskedAgainAfterItsPatience()
    {
        // A query sent through a gateway silo just before it was killed: the Orleans client neither gets an answer nor a
        // rejection, so without a deadline the coordinator waited for the grain-call timeout (days) and the run stalled.
        var management = Management([Unanswered, Unanswered, new[] { Active("node-1") }]);
        var log = new List<string>();
        var scheduler = new ClusterScheduler(LiveViewTests.ClientWith(management), log.Add)
            { WaitForSilos = 1, MembershipRetryDelay = TimeSpan.FromMilliseconds(1), ControlCallPatience = TimeSpan.FromMilliseconds(50) };
        Assert.Equal(1, await scheduler.WaitForSilosAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(3, ((ScriptedManagementGrain)(object)management).Calls);
        Assert.Equal(2, log.Count(l => l.Contains("membership query failed (TimeoutException); asking again", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AQueryLostForLongerThanThePatienceEndsTheRunClearly()
    {
        var management = Management(Enumerable.Repeat<object>(LiveViewTests.CallThroughLostSilo(), 100_000));
        var scheduler = new ClusterScheduler(LiveViewTests.ClientWith(management), _ => { })
            { WaitForSilos = 1, MembershipRetryDelay = TimeSpan.FromMilliseconds(1), SiloLossPatience = TimeSpan.FromMilliseconds(200) };
        var e = await Assert.ThrowsAsync<ClusterUnavailableException>(() => scheduler.WaitForSilosAsync(CancellationToken.None));
        Assert.StartsWith("no silo of the cluster answers the membership query (OrleansMessageRejectionException", e.Message);
        Assert.Contains("mipin resume RUN", e.Message);
    }

    [Fact]
    public async Task AFailureThatIsNotASiloLossEndsTheRunAfterFourAttempts()
    {
        // E.g. Redis restarted without its data: no silo can be trusted to be there, so patience would only delay the message.
        var management = Management(Enumerable.Repeat<object>(new InvalidOperationException("membership table not found"), 100));
        var scheduler = new ClusterScheduler(LiveViewTests.ClientWith(management), _ => { }) { WaitForSilos = 1, MembershipRetryDelay = TimeSpan.FromMilliseconds(1) };
        var e = await Assert.ThrowsAsync<ClusterUnavailableException>(() => scheduler.WaitForSilosAsync(CancellationToken.None));
        Assert.Contains("membership table not found", e.Message);
        Assert.Equal(4, ((ScriptedManagementGrain)(object)management).Calls);
    }

    /// <summary>An answer that never comes (the fake grain returns a task that never completes).</summary>
    private static readonly object Unanswered = new();

    private static MembershipEntry Active(string name) => new() { SiloName = name, Status = SiloStatus.Active };

    private static IManagementGrain Management(IEnumerable<object> answers)
    {
        var management = DispatchProxy.Create<IManagementGrain, ScriptedManagementGrain>();
        ((ScriptedManagementGrain)(object)management).Answers = new Queue<object>(answers);
        return management;
    }

    /// <summary>A management grain whose membership queries answer, in order, with the given exceptions or silo lists.</summary>
    public class ScriptedManagementGrain : DispatchProxy
    {
        public Queue<object> Answers = null!;
        public int Calls;

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method is not { Name: nameof(IManagementGrain.GetDetailedHosts) })
                throw new NotSupportedException($"the fake management grain has no {method?.Name}");
            Calls++;
            return Answers.Dequeue() switch
            {
                Exception e => Task.FromException<MembershipEntry[]>(e),
                var never when never == Unanswered => new TaskCompletionSource<MembershipEntry[]>().Task,
                var hosts => Task.FromResult((MembershipEntry[])hosts),
            };
        }
    }
}
