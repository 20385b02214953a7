using System.Globalization;
using System.Text.RegularExpressions;
using Icdiff.Core;
using Icdiff.Corpora.Manifest;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Imaging.Skia;
using Icdiff.Reporting;

namespace Icdiff.Cli;

/// <summary>What audit and demo share: argument checks, running the embedded silo, writing and printing the report.</summary>
internal static partial class AuditSession
{
    public const int ErrorExitCode = 2;

    public static string DefaultDataDirectory => new AuditSiloOptions().DataDirectory;

    /// <summary>The model corpora of <c>--generated</c> values plus, when given, one per model of a manifest.</summary>
    public static async Task<IReadOnlyList<ModelCorpus>> ParseGeneratedAsync(IEnumerable<string> values, string? manifest, CancellationToken cancellationToken)
    {
        var models = ParseGenerated(values, allowNone: manifest is not null).ToList();
        if (manifest is null)
        {
            return models;
        }

        if (!ManifestLocation.Looks(manifest) || !File.Exists(ManifestLocation.Parse(manifest).Path))
        {
            throw new CliError($"--generated-manifest '{manifest}' is not an existing .csv, .jsonl or .parquet file.");
        }

        var path = ManifestLocation.Parse(manifest).Path;
        IReadOnlyList<string> names;
        try
        {
            names = await ManifestCorpusProvider.ModelsAsync(path, cancellationToken);
        }
        catch (CorpusException ex)
        {
            throw new CliError($"--generated-manifest: {ex.Message}", ex);
        }

        if (names.Count == 0)
        {
            throw new CliError($"--generated-manifest '{manifest}' has no rows with a model name (column 'model').");
        }

        foreach (var name in names)
        {
            CheckModelName(name, "--generated-manifest");
            if (models.Any(m => m.Model == name))
            {
                throw new CliError($"model '{name}' is named by both --generated and --generated-manifest.");
            }

            models.Add(new ModelCorpus(name, ManifestLocation.WithModel(path, name)));
        }

        return models;
    }

    public static IReadOnlyList<ModelCorpus> ParseGenerated(IEnumerable<string> values, bool allowNone = false)
    {
        var models = new List<ModelCorpus>();
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == value.Length - 1)
            {
                throw new CliError($"--generated '{value}' must look like <model>=<folder>.");
            }

            var name = value[..equals];
            CheckModelName(name, "--generated");

            if (models.Any(m => m.Model == name))
            {
                throw new CliError($"--generated names model '{name}' twice.");
            }

            models.Add(new ModelCorpus(name, value[(equals + 1)..]));
        }

        if (models.Count == 0 && !allowNone)
        {
            throw new CliError("give at least one --generated <model>=<folder> (or --generated-manifest).");
        }

        return models;
    }

    private static void CheckModelName(string name, string option)
    {
        if (name == AuditRequest.ControlModel)
        {
            throw new CliError($"{option} model name '{name}' is reserved for the --control corpus.");
        }

        if (!ModelName().IsMatch(name))
        {
            throw new CliError($"{option} model name '{name}' may only use letters, digits, '.', '_' and '-' (at most 64).");
        }
    }

    /// <summary>Checks everything that can be checked before a silo starts, so mistakes cost a second, not a run.</summary>
    public static async Task ValidateAsync(AuditRequest request, CancellationToken cancellationToken)
    {
        CliSettings.CheckEnvironment();
        new ReplicaCriterion(request.MinLevel, request.Candidates, request.EffectiveMatchRule).Validate();
        if (request.ShardSize is < 1 or > 100_000)
        {
            throw new CliError($"--shard-size must be 1..100000 (got {request.ShardSize}).");
        }

        _ = ModelCatalog.ReadManifest(request.ModelManifest);
        var resolver = CliServices.CreateCorpusResolver();
        await RequireImagesAsync(resolver, "--gallery", request.GalleryLocation, cancellationToken);
        foreach (var model in request.Generated)
        {
            await RequireImagesAsync(resolver, model.Model == AuditRequest.ControlModel ? "--control" : $"--generated {model.Model}", model.Location, cancellationToken);
        }
    }

    public static async Task<AuditReport> RunOnClusterAsync(AuditRequest request, ClusterTarget target, CancellationToken cancellationToken)
    {
        var runId = NewRunId();
        await using var cluster = await ClusterConnection.ConnectAsync(target, cancellationToken);
        Console.WriteLine($"Run {runId}: gallery {request.GalleryLocation}, {request.Generated.Count} model corpora, on cluster '{target.ClusterId}'");
        return await AuditRunner.RunAsync(cluster.Grains, runId, request, ProgressDisplay.ForConsole(), cancellationToken);
    }

    private static string NewRunId() => string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");

    public static async Task<AuditReport> RunAsync(AuditRequest request, string dataDirectory, CancellationToken cancellationToken)
    {
        var runId = NewRunId();
        Console.WriteLine($"Run {runId}: gallery {request.GalleryLocation}, {request.Generated.Count} model corpora, data in {dataDirectory}");
        await using var silo = await EmbeddedSilo.StartAsync(dataDirectory, cancellationToken);
        return await AuditRunner.RunAsync(silo.Grains, runId, request, ProgressDisplay.ForConsole(), cancellationToken);
    }

    public static async Task WriteReportAsync(AuditReport report, AuditRequest request, string outDirectory, CancellationToken cancellationToken)
    {
        var thumbnails = await LoadThumbnailsAsync(report, request, cancellationToken);
        await ReportWriter.WriteAllAsync(report, outDirectory, (model, key) => thumbnails.GetValueOrDefault((model, key)));
    }

    /// <summary>
    /// Thumbnails of the pairs the report shows, read through each corpus's own source (folder, blob container or
    /// manifest) by listing it once and picking the keys needed: the report reads nothing a corpus does not list.
    /// </summary>
    private static async Task<Dictionary<(string?, string), byte[]>> LoadThumbnailsAsync(AuditReport report, AuditRequest request, CancellationToken cancellationToken)
    {
        const long maxBytes = 256L * 1024 * 1024;
        var wanted = ReportWriter.ThumbnailKeys(report);
        var thumbnails = new Dictionary<(string?, string), byte[]>();
        var resolver = CliServices.CreateCorpusResolver();
        var corpora = request.Generated.Select(m => ((string?)m.Model, m.Location)).Prepend((null, request.GalleryLocation));
        foreach (var (model, location) in corpora)
        {
            var needed = wanted.Where(w => w.Model == model).Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
            if (needed.Count == 0)
            {
                continue;
            }

            try
            {
                var source = resolver.Open(location);
                await foreach (var item in source.ListAsync(cancellationToken))
                {
                    if (!needed.Remove(item.Key))
                    {
                        continue;
                    }

                    try
                    {
                        var bytes = await source.ReadAsync(item, maxBytes, cancellationToken);
                        if (ThumbnailRenderer.RenderJpeg(bytes, 128) is { } jpeg)
                        {
                            thumbnails[(model, item.Key)] = jpeg;
                        }
                    }
                    catch (ItemReadException)
                    {
                        // The page shows the pair without that picture.
                    }

                    if (needed.Count == 0)
                    {
                        break;
                    }
                }
            }
            catch (CorpusException)
            {
                // The corpus went away after the run; the report is still written, without its pictures.
            }
        }

        return thumbnails;
    }

    public static void PrintSummary(AuditReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Model: {report.ModelName}; {report.ScoringRule}");
        output.WriteLine($"Criterion: {report.Criterion}");
        if (report.Control is { } control)
        {
            var c = control.Summary;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Control floor: {c.Scanned} images not in the gallery, false-replica rate {ReportWriter.Percent(c.Ratio)} ({ReportWriter.Percent(c.Lower)} - {ReportWriter.Percent(c.Upper)}) under {report.MatchRule}{(c.AltRecorded ? $", {ReportWriter.Percent(c.AltRatio)} under {report.OtherMatchRule}" : "")}"));
        }

        output.WriteLine($"Gallery: {report.GalleryIndexed} images indexed, {report.GallerySkipped.Count} skipped");
        var withTruth = report.Models.Any(m => m.TrueRate is not null);
        var header = string.Create(CultureInfo.InvariantCulture, $"{"model",-16} {"images",7} {"replicas",8} {"ratio",8} {"95% CI (Wilson)",-19} {"skipped",7}  levels 0/1/2/3/4/5");
        output.WriteLine(withTruth ? header + "   true rate" : header);
        foreach (var model in report.Models)
        {
            var s = model.Summary;
            // A level the model cannot grade reads "-", never a count.
            var levels = string.Join('/', s.LevelHistogram.Select((count, level) => report.IsGraded(level) ? count.ToString(CultureInfo.InvariantCulture) : "-"));
            var line = string.Create(CultureInfo.InvariantCulture, $"{s.Model,-16} {s.Scanned,7} {s.Replicas,8} {ReportWriter.Percent(s.Ratio),8} {ReportWriter.Percent(s.Lower) + " - " + ReportWriter.Percent(s.Upper),-19} {s.Skipped,7}  {levels}");
            if (model.TrueRate is { } truth)
            {
                var inside = truth >= s.Lower && truth <= s.Upper;
                line += $"   {ReportWriter.Percent(truth)} {(inside ? "(inside)" : "(OUTSIDE)")}";
            }

            output.WriteLine(line);
        }

        foreach (var model in report.Models)
        {
            var s = model.Summary;
            var cumulative = string.Join(", ", model.CumulativeRatios.Select((r, i) => $">={i + 1}: {(report.IsGraded(i + 1) ? ReportWriter.Percent(r) : "n/g")}"));
            var other = s.AltRecorded ? string.Create(CultureInfo.InvariantCulture, $"{ReportWriter.Percent(s.AltRatio)} ({ReportWriter.Percent(s.AltLower)} - {ReportWriter.Percent(s.AltUpper)})") : "not recorded";
            var floor = model.ClearsControl is { } clears ? (clears ? "; clears the control floor" : "; does NOT clear the control floor") : "";
            output.WriteLine($"{s.Model}: under {report.OtherMatchRule} {other}; by minimum level {cumulative}{floor}");
        }
    }

    private static async Task RequireImagesAsync(CorpusSourceResolver resolver, string option, string location, CancellationToken cancellationToken)
    {
        try
        {
            var source = resolver.Open(location);
            // A manifest is read to the end here: a malformed row found an hour into a run would waste the hour.
            var readAll = ManifestLocation.Looks(location);
            var any = false;
            await foreach (var _ in source.ListAsync(cancellationToken))
            {
                any = true;
                if (!readAll)
                {
                    break;
                }
            }

            if (!any)
            {
                throw new CliError($"{option}: '{location}' holds no files.");
            }
        }
        catch (CorpusException ex)
        {
            throw new CliError($"{option}: {ex.Message}", ex);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ModelName();
}
