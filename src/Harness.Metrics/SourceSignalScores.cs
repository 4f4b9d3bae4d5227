using Harness.Attribution;

namespace Harness.Metrics;

/// <summary>
/// Runs <see cref="SourceSignalDiagnostics"/> once per batch and source-signal method (shared by completeness and
/// minimality through <see cref="ModelMetricBatch.Shared{T}"/>) and turns it into per-image scores.
/// </summary>
internal static class SourceSignalScores
{
    public static MetricResult[]?[] PerMethod(ModelMetricBatch batch, Func<SourceSignalDiagnostics.Result, MetricResult[]> score)
    {
        var results = new MetricResult[]?[batch.Methods.Count];
        for (var m = 0; m < results.Length; m++)
        {
            if (batch.Methods[m] is not ISourceSignalMethod method) continue;
            var diagnostics = batch.Shared($"source_signal_diagnostics/{m}", () => SourceSignalDiagnostics.Compute(method, batch.Truth));
            results[m] = score(diagnostics);
        }
        return results;
    }
}
