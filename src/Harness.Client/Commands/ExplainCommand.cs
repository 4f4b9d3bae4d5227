using System.CommandLine;
using Harness.Attribution;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Grains;
using Harness.Models;
using Harness.Reports;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin explain`: saliency maps of several methods for a few images, drawn as an images × methods grid over the
/// model input, and optionally saved as NumPy arrays (IMAGEID.METHOD.npy, H×W float32 in the model-input frame).
/// </summary>
public static class ExplainCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "ImageNet-val folder (images/, boxes/ or LOC_val_solution.csv, LOC_synset_mapping.txt).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("data", "imagenet-val-sample")) };
        var images = new Option<string?>("--images") { Description = "Comma-separated image ids to explain. Default: the first --limit images after the training images." };
        var limit = new Option<int>("--limit") { Description = "How many images when --images is not given.", DefaultValueFactory = _ => 6 };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods: " + string.Join(", ", AttributionMethods.Names) + ".", DefaultValueFactory = _ => "gradient,gradcam,mipin,center" };
        var set = new Option<string[]>("--set") { Description = "Method option METHOD.OPTION=VALUE, repeatable (e.g. --set mipin.layer=features.17 --set gradcam.layer=features.17).", AllowMultipleArgumentsPerToken = true };
        var target = new Option<string>("--target") { Description = "Class to explain: label (ground truth), predicted, or a class index.", DefaultValueFactory = _ => "label" };
        var train = new Option<int>("--train-images", "--mipin-train") { Description = "Trainable methods (mipin) train on the first N images of --data (sorted by id).", DefaultValueFactory = _ => 100 };
        var inverseDir = new Option<DirectoryInfo>("--trained-dir", "--inverse-dir") { Description = "Where trainable methods save and reuse their trained state (MIP-IN: inverse networks).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("results", "inverses")) };
        var output = new Option<FileInfo>("--out") { Description = "Grid image to write (.png or .jpg).", DefaultValueFactory = _ => new FileInfo(Path.Combine("results", "explain", "grid.png")) };
        var saveMaps = new Option<DirectoryInfo?>("--save-maps") { Description = "Also write every map as DIR/IMAGEID.METHOD.npy (float32, H×W, model-input frame)." };
        var sign = new Option<MapSign>("--sign")
        {
            Description = "Which sign of the maps to draw: auto (signed maps on a blue–white–red scale, others as |map| on inferno), absolute, positive or signed.",
            DefaultValueFactory = _ => MapSign.Auto,
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                foreach (var (name, value) in HeatmapStyle.SignChoices)
                    if (name == text) return value;
                r.AddError($"--sign {text}: use one of {string.Join(", ", HeatmapStyle.SignChoices.Select(c => c.Name))}");
                return MapSign.Auto;
            },
        };
        var clip = new Option<double>("--clip-percentile")
        {
            Description = "Each map's colours saturate at this percentile of its |values| (outliers clipped, as captum's visualize_image_attr); 100 scales by the maximum.",
            DefaultValueFactory = _ => 99,
        };
        var beside = new Option<bool>("--beside") { Description = "Draw each map alone beside the input instead of blended over it." };
        var models = new ModelOptions();

        var command = new Command("explain", "Draw saliency maps of several methods for a few images (images × methods grid).")
        {
            data, images, limit, methods, set, target, train, inverseDir, output, saveMaps, sign, clip, beside,
        };
        models.AddTo(command);
        command.SetAction(parse =>
        {
            var clipValue = parse.GetValue(clip);
            if (!(clipValue > 0 && clipValue <= 100)) throw new CommandLineException($"--clip-percentile {clipValue}: use a number in (0, 100]");
            var choice = models.Resolve(parse);
            var config = choice.Preprocess;
            var dev = choice.Device;
            var dataset = ImageNetValDataset.LoadFolder(parse.GetValue(data)!.FullName);
            var trainCount = parse.GetValue(train);
            var training = dataset.Records.Take(trainCount).ToList();
            var chosen = SelectImages(dataset, parse.GetValue(images), parse.GetValue(limit), trainCount);
            var methodNames = parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var options = MethodOptionArguments.Parse(parse.GetValue(set) ?? Array.Empty<string>(), methodNames);

            using var classifier = choice.Load();
            using var trained = new MethodTraining(new TrainingSet(parse.GetValue(inverseDir)!.FullName, ContentHash.OfFile(choice.WeightsPath),
                training, config, dev, Log: m => Console.Error.WriteLine(m)));
            var explainers = methodNames.Select(n => AttributionMethods.Create(n, classifier, options.GetValueOrDefault(n), trained)).ToList();

            using var scope = torch.NewDisposeScope();
            var issues = new List<DataIssue>();
            var batch = ImageBatchLoader.Load(chosen, config, dev, issues);
            foreach (var issue in issues) Console.Error.WriteLine($"skipped {issue.Id}: {issue.Reason} ({issue.File})");
            if (batch.Records.Count == 0) throw new CommandLineException("none of the selected images could be read");
            var targets = Targets(parse.GetValue(target)!, batch, classifier);
            using var work = new AttributionBatch(classifier, batch.Images, targets, explainers);
            var maps = explainers.Select(m => m.Explain(work).cpu()).ToList();

            var rowTitles = batch.Records.Select((r, i) => $"{r.Id[^8..]} {Short(dataset.Mapping.Name((int)targets[i]))}").ToList();
            var style = new HeatmapStyle(parse.GetValue(sign), parse.GetValue(clip));
            var grid = MapGrid.Compose(batch.Images, config, rowTitles, explainers.Select(m => m.Name).ToList(), maps, style: style, overlay: !parse.GetValue(beside));
            var mapsDir = parse.GetValue(saveMaps)?.FullName;
            if (mapsDir is not null)
                for (var m = 0; m < explainers.Count; m++)
                    for (var i = 0; i < batch.Records.Count; i++)
                        NpyWriter.Save(Path.Combine(mapsDir, $"{batch.Records[i].Id}.{explainers[m].Name}.npy"),
                            maps[m][i].contiguous().ToArray<float>(), new[] { (int)work.Height, (int)work.Width });
            var outPath = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            try { ImageEncoder.Save(grid, outPath); }
            catch (ArgumentException e) { throw new CommandLineException($"--out {e.Message}"); }
            Console.WriteLine($"wrote {outPath} ({batch.Records.Count} images × {explainers.Count} methods)");
            if (mapsDir is not null) Console.WriteLine($"wrote {batch.Records.Count * explainers.Count} maps to {mapsDir}");
            return 0;
        });
        return command;
    }

    private static IReadOnlyList<ImageRecord> SelectImages(ImageNetValDataset dataset, string? ids, int limit, int trainCount)
    {
        if (ids is null) return dataset.Records.Skip(trainCount).Take(limit).ToList();
        var byId = dataset.Records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        return ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => byId.TryGetValue(id, out var r) ? r
                : throw new CommandLineException($"--images: no image '{id}' in {dataset.Root} (ids look like {dataset.Records[0].Id})"))
            .ToList();
    }

    private static long[] Targets(string target, ImageBatchLoader.Batch batch, ClassifierModel model)
    {
        if (target == "label") return batch.Records.Select(r => (long)r.ClassIndex).ToArray();
        if (target == "predicted")
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return model.forward(batch.Images).argmax(1).cpu().ToArray<long>();
        }
        if (int.TryParse(target, out var c) && c >= 0 && c < model.NumClasses) return Enumerable.Repeat((long)c, batch.Records.Count).ToArray();
        throw new CommandLineException($"--target '{target}': use label, predicted or a class index in [0, {model.NumClasses})");
    }

    private static string Short(string name) => name.Length > 18 ? name[..18] : name;
}
