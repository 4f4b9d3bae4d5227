using System.Diagnostics;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Models;
using Harness.Torch;

namespace Harness.Models;

/// <summary>Top-1 / top-5 accuracy of a classifier on labelled images.</summary>
public static class ClassificationEvaluator
{
    public sealed record Result(int Images, int Top1Correct, int Top5Correct, IReadOnlyList<DataIssue> Issues, TimeSpan Elapsed)
    {
        public double Top1 => Images == 0 ? 0 : (double)Top1Correct / Images;
        public double Top5 => Images == 0 ? 0 : (double)Top5Correct / Images;
        public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Images / Elapsed.TotalSeconds : 0;
    }

    /// <summary>Evaluates in batches of <paramref name="batchSize"/>, reporting (done, total) after each batch.</summary>
    public static Result Evaluate(ClassifierModel model, IReadOnlyList<ImageRecord> records, PreprocessConfig config,
        Device device, int batchSize = 32, IProgress<(int Done, int Total)>? progress = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        var issues = new List<DataIssue>();
        var clock = Stopwatch.StartNew();
        int images = 0, top1 = 0, top5 = 0;
        for (var start = 0; start < records.Count; start += batchSize)
        {
            var chunk = records.Skip(start).Take(batchSize).ToList();
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var batch = ImageBatchLoader.Load(chunk, config, device, issues);
            if (batch.Records.Count > 0)
            {
                var logits = model.forward(batch.Images);
                var k = Math.Min(5, model.NumClasses);
                var best = logits.topk(k, dim: 1).indices.cpu().ToArray<long>();
                for (var i = 0; i < batch.Records.Count; i++)
                {
                    var label = batch.Records[i].ClassIndex;
                    if (best[i * k] == label) top1++;
                    for (var j = 0; j < k; j++)
                        if (best[i * k + j] == label) top5++;
                }
                images += batch.Records.Count;
            }
            progress?.Report((Math.Min(start + batchSize, records.Count), records.Count));
        }
        return new Result(images, top1, top5, issues, clock.Elapsed);
    }
}
