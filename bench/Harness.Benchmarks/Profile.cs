using System.Diagnostics;
using System.Globalization;
using Harness.Models;
using Harness.Torch;

namespace Harness.Benchmarks;

/// <summary>
/// A quick stage-by-stage timing of one model's no-grad forward pass (not BenchmarkDotNet: a few seconds, for
/// finding where time goes): `dotnet run -c Release --project bench/Harness.Benchmarks -- profile MODEL BATCH [THREADS]`.
/// </summary>
public static class Profile
{
    public static void Run(string model, int batch, int threads)
    {
        torch.set_num_threads(threads);
        using var m = ModelZoo.Create(model);
        m.requires_grad_(false);
        using var g = new Generator(0);
        using var input = torch.randn(new long[] { batch, 3, 224, 224 }, generator: g).DetachFromDisposeScope();
        var totals = new double[m.Stages.Count];
        const int repeats = 3;
        for (var r = 0; r <= repeats; r++)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var x = input;
            for (var i = 0; i < m.Stages.Count; i++)
            {
                var w = Stopwatch.StartNew();
                x = m.Stages[i].Module.forward(x);
                if (r > 0) totals[i] += w.Elapsed.TotalMilliseconds / repeats;
            }
        }
        foreach (var (stage, ms) in m.Stages.Zip(totals).OrderByDescending(p => p.Second).Take(15))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{stage.Name,-16} {stage.Module.GetType().Name,-20} {ms,8:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {totals.Sum():F1} ms for batch {batch} ({batch / totals.Sum() * 1000:F1} images/s)"));
    }
}
