using System.CommandLine;
using System.Globalization;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Icdiff.Evaluation;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Fits the five thresholds of a single-vector model to labelled pairs (exact monotone fit maximising level
/// agreement) and writes a copy of the manifest with them; the original is never modified.
/// </summary>
internal static class CalibrateCommand
{
    public static Command Create()
    {
        var pairs = new Option<string>("--pairs") { Description = "Labelled pairs: .csv, .jsonl or .parquet (path columns, or the D-Rep parquet with the encoded images).", Required = true };
        var model = new Option<string>("--model") { Description = "Manifest of a cosine-thresholds model, or 'builtin'.", DefaultValueFactory = _ => "builtin" };
        var output = new Option<string>("--out") { Description = "Folder for the calibrated manifest (model.json; the built-in model's .onnx is written beside it).", Required = true };
        var command = new Command("calibrate", "Fit a single-vector model's cosine thresholds to labelled pairs.") { pairs, model, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var modelPath = parse.GetValue(model)!;
            if (ModelCatalog.ReadManifest(modelPath).Scoring is not CosineThresholdsRule)
            {
                throw new CliError($"--model '{modelPath}' uses {PdfArgmaxRule.RuleName}; only cosine-thresholds models have thresholds to calibrate.");
            }

            var (manifest, scored) = await EvalCommand.ScoreAsync(parse.GetValue(pairs)!, modelPath, ct);
            var usable = scored.Where(s => s.Score is not null).ToArray();
            var labelled = usable.Select(s => (s.Score!.Value.Similarity, s.Pair.Level)).ToArray();
            var thresholds = ThresholdCalibrator.Fit(labelled);
            var calibratedRule = new CosineThresholdsRule(thresholds);

            Console.WriteLine("Before:");
            EvalCommand.Print(manifest, scored, PairScorer.Agreement(scored), Console.Out);
            Console.WriteLine("After (same pairs, fitted thresholds " + string.Join(", ", thresholds.Select(t => t.ToString("0.0000", CultureInfo.InvariantCulture))) + "):");
            var after = PairScorer.Agreement(usable, s => calibratedRule.LevelOf(s.Score!.Value.Similarity));
            EvalCommand.Print(manifest with { Scoring = calibratedRule }, scored, after, Console.Out);

            var outDirectory = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(outDirectory);
            var onnxPath = manifest.OnnxPath;
            if (ModelCatalog.IsBuiltin(modelPath))
            {
                onnxPath = Path.Combine(outDirectory, "model.onnx");
                await File.WriteAllBytesAsync(onnxPath, BuiltinDescriptorModel.BuildOnnx(), ct);
            }

            var calibrated = manifest with
            {
                Name = manifest.Name + "-calibrated",
                OnnxPath = onnxPath,
                Scoring = calibratedRule,
                Notes = $"{manifest.Notes} Thresholds fitted by icdiff calibrate on {usable.Length} pairs from {parse.GetValue(pairs)}.".Trim(),
            };
            var manifestPath = Path.Combine(outDirectory, "model.json");
            await File.WriteAllTextAsync(manifestPath, ModelManifestJson.Serialize(calibrated, outDirectory), ct);
            Console.WriteLine($"Calibrated manifest: {manifestPath} (use it with --model)");
            return 0;
        }));
        return command;
    }
}
