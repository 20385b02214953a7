using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Icdiff.Evaluation;
using Icdiff.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Cli.Commands;

/// <summary>Evaluates a model on labelled pairs: Pearson correlation, MSE and mean absolute deviation of normalised levels, confusion matrix.</summary>
internal static class EvalCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var pairs = new Option<string>("--pairs") { Description = "Labelled pairs: .csv, .jsonl or .parquet with name, level, generated, real (paths), or the D-Rep parquet (Name, Level, generated_images, real_images with the encoded images).", Required = true };
        var model = new Option<string>("--model") { Description = "Model manifest, or 'builtin'.", DefaultValueFactory = _ => "builtin" };
        var output = new Option<string?>("--out") { Description = "Where to write the figures as JSON (default: eval.json next to the pairs file)." };
        var command = new Command("eval", "Evaluate a model's levels against human-labelled pairs (D-Rep layout).") { pairs, model, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var pairsPath = parse.GetValue(pairs)!;
            var scored = await ScoreAsync(pairsPath, parse.GetValue(model)!, ct);
            var agreement = PairScorer.Agreement(scored.Pairs);
            Print(scored.Manifest, scored.Pairs, agreement, Console.Out);
            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(pairsPath))!, "eval.json"));
            await File.WriteAllTextAsync(outPath, ToJson(scored.Manifest, scored.Pairs, agreement), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    public static async Task<(ModelManifest Manifest, IReadOnlyList<ScoredPair> Pairs)> ScoreAsync(string pairsPath, string model, CancellationToken ct)
    {
        // The pairs stream (a D-Rep parquet carries its images: one row group in memory at a time), so the file's
        // first rows are checked before the model loads and the rest as they are scored.
        var pairs = PairsReader.StreamAsync(pairsPath, ct);
        _ = ModelCatalog.ReadManifest(model);
        await using var services = CliServices.CreateWorkerServices();
        var embedder = services.GetRequiredService<ModelCatalog>().Get(model);
        Console.WriteLine($"Scoring the pairs of {pairsPath} with {embedder.Manifest.Name} ({embedder.Manifest.Scoring.Describe()})");
        var scored = await PairScorer.ScoreAsync(pairs, embedder, services.GetRequiredService<ImagePipeline>(), ct);
        if (scored.Count == 0)
        {
            throw new CliError($"pairs file '{pairsPath}' holds no pairs.");
        }

        return (embedder.Manifest, scored);
    }

    public static void Print(ModelManifest manifest, IReadOnlyList<ScoredPair> pairs, LevelAgreement agreement, TextWriter output)
    {
        var skipped = pairs.Count(p => p.Score is null);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{manifest.Name}: {agreement.Pairs} pairs scored, {skipped} skipped"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  Pearson correlation (levels/5): {agreement.Pearson:0.0000}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  mean squared error (levels/5):  {agreement.MeanSquaredError:0.0000}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  mean abs. deviation (levels/5): {agreement.MeanAbsoluteDeviation:0.0000}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  exact level agreement:          {agreement.ExactAgreement:P1}"));
        output.WriteLine("  confusion (rows: human level, columns: predicted 0..5) and per-level accuracy:");
        for (var level = 0; level < ReplicationLevels.Count; level++)
        {
            var accuracy = agreement.PerLevelAccuracy[level] is { } a ? a.ToString("P1", CultureInfo.InvariantCulture) : "-";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {level}: {string.Join(' ', agreement.Confusion[level].Select(c => c.ToString(CultureInfo.InvariantCulture).PadLeft(6)))}   {accuracy}"));
        }

        foreach (var skip in pairs.Where(p => p.Score is null).Take(10))
        {
            output.WriteLine($"  skipped {skip.Pair.Name}: {skip.SkipReason}");
        }
    }

    private static string ToJson(ModelManifest manifest, IReadOnlyList<ScoredPair> pairs, LevelAgreement agreement) => JsonSerializer.Serialize(
        new
        {
            model = manifest.Name,
            scoring = manifest.Scoring.Describe(),
            pairs = agreement.Pairs,
            skipped = pairs.Count(p => p.Score is null),
            pearson = double.IsNaN(agreement.Pearson) ? (double?)null : agreement.Pearson,
            meanSquaredError = double.IsNaN(agreement.MeanSquaredError) ? (double?)null : agreement.MeanSquaredError,
            meanAbsoluteDeviation = double.IsNaN(agreement.MeanAbsoluteDeviation) ? (double?)null : agreement.MeanAbsoluteDeviation,
            exactAgreement = agreement.ExactAgreement,
            confusion = agreement.Confusion,
            perLevelAccuracy = agreement.PerLevelAccuracy,
            skippedPairs = pairs.Where(p => p.Score is null).Select(p => new { name = p.Pair.Name, reason = p.SkipReason }),
        },
        Indented);
}
