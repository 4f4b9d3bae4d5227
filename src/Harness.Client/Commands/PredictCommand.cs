using System.CommandLine;
using System.Globalization;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Models;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>`mipin predict`: top-1 / top-5 accuracy of a classifier checkpoint on an ImageNet-val folder.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "ImageNet-val folder: images/ plus boxes/ (XML) or LOC_val_solution.csv, and LOC_synset_mapping.txt.", Required = true };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward pass.", DefaultValueFactory = _ => 32 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N images (sorted by id)." };
        var models = new ModelOptions();

        var command = new Command("predict", "Classify an ImageNet-val folder and print top-1/top-5 accuracy.")
        {
            data, batchSize, limit,
        };
        models.AddTo(command);
        command.SetAction(parse =>
        {
            var choice = models.Resolve(parse);

            var dataset = ImageNetValDataset.LoadFolder(parse.GetValue(data)!.FullName);
            IReadOnlyList<ImageRecord> records = dataset.Records;
            if (parse.GetValue(limit) is { } n) records = records.Take(n).ToList();
            Console.Error.WriteLine($"data: {dataset.Summary()}");
            Console.Error.WriteLine($"model: {choice}");

            using var classifier = choice.Load();
            var result = ClassificationEvaluator.Evaluate(classifier, records, choice.Preprocess, choice.Device, parse.GetValue(batchSize),
                new Progress<(int Done, int Total)>(p => ProgressLine.Write("predict", p.Done, p.Total)));
            ProgressLine.Finish();

            var issues = dataset.Issues.Concat(result.Issues).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"top-1 {result.Top1:F3}  top-5 {result.Top5:F3}  images {result.Images}  skipped {issues.Count}  ({result.ImagesPerSecond:F1} images/s)"));
            foreach (var issue in issues.Take(20)) Console.WriteLine($"  skipped {issue.Id}: {issue.Reason} ({issue.File})");
            if (issues.Count > 20) Console.WriteLine($"  ... and {issues.Count - 20} more");
            return 0;
        });
        return command;
    }
}
