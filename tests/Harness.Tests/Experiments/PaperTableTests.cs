using Harness.Experiments;
using Harness.Reports;

namespace Harness.Tests.Experiments;

/// <summary>The paper-style table bolds each column's best by the metric's direction and prints mean ± CI half-width.</summary>
public sealed class PaperTableTests
{
    private static LeaderboardRow Row(string method, string metric, double mean, int n = 10) =>
        new("m", method, "-", metric, mean, 0.1, mean - 0.05, mean + 0.05, n, 0, 0);

    [Fact]
    public void BestFollowsEachMetricsDirection()
    {
        var board = new[]
        {
            Row("a", "pointing_game", 0.9), Row("b", "pointing_game", 0.7),   // higher is better: a
            Row("a", "deletion_auc", 0.3), Row("b", "deletion_auc", 0.1),     // lower is better: b
            Row("a", "minimality", -0.02), Row("b", "minimality", 0.5),       // closer to 0: a
            Row("a", "completeness", 0, n: 0), Row("b", "completeness", 0.2), // a has no value: "–", b is best
        };
        var md = PaperTable.Markdown(board, ["pointing_game", "deletion_auc", "minimality", "completeness"]);
        Assert.Contains("| method | pointing_game ↑ | deletion_auc ↓ | minimality →0 | completeness ↓ |", md);
        Assert.Contains("| a | **0.900 ± 0.050** | 0.300 ± 0.050 | **-0.020 ± 0.050** | – |", md);
        Assert.Contains("| b | 0.700 ± 0.050 | **0.100 ± 0.050** | 0.500 ± 0.050 | **0.200 ± 0.050** |", md);
        var tex = PaperTable.Latex(board, ["pointing_game", "deletion_auc"]);
        Assert.Contains(@"method & pointing\_game $\uparrow$ & deletion\_auc $\downarrow$ \\", tex);
        Assert.Contains(@"a & \textbf{0.900 $\pm$ 0.050} & 0.300 $\pm$ 0.050 \\", tex);
    }
}
