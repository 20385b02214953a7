using System.Globalization;
using System.Text.RegularExpressions;
using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
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

    public static IReadOnlyList<ModelCorpus> ParseGenerated(IEnumerable<string> values)
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
            if (!ModelName().IsMatch(name))
            {
                throw new CliError($"--generated model name '{name}' may only use letters, digits, '.', '_' and '-' (at most 64).");
            }

            if (models.Any(m => m.Model == name))
            {
                throw new CliError($"--generated names model '{name}' twice.");
            }

            models.Add(new ModelCorpus(name, value[(equals + 1)..]));
        }

        if (models.Count == 0)
        {
            throw new CliError("give at least one --generated <model>=<folder>.");
        }

        return models;
    }

    /// <summary>Checks everything that can be checked before a silo starts, so mistakes cost a second, not a run.</summary>
    public static async Task ValidateAsync(AuditRequest request, CancellationToken cancellationToken)
    {
        new ReplicaCriterion(request.MinLevel, request.Candidates).Validate();
        if (request.ShardSize is < 1 or > 100_000)
        {
            throw new CliError($"--shard-size must be 1..100000 (got {request.ShardSize}).");
        }

        _ = ModelCatalog.ReadManifest(request.ModelManifest);
        var resolver = new CorpusSourceResolver([new LocalFolderCorpusProvider()]);
        await RequireImagesAsync(resolver, "--gallery", request.GalleryLocation, cancellationToken);
        foreach (var model in request.Generated)
        {
            await RequireImagesAsync(resolver, $"--generated {model.Model}", model.Location, cancellationToken);
        }
    }

    public static async Task<AuditReport> RunAsync(AuditRequest request, string dataDirectory, CancellationToken cancellationToken)
    {
        var runId = string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
        Console.WriteLine($"Run {runId}: gallery {request.GalleryLocation}, {request.Generated.Count} model corpora, data in {dataDirectory}");
        await using var silo = await EmbeddedSilo.StartAsync(dataDirectory, cancellationToken);
        return await AuditRunner.RunAsync(silo.Grains, runId, request, ProgressDisplay.ForConsole(), cancellationToken);
    }

    public static void WriteReport(AuditReport report, AuditRequest request, string outDirectory)
    {
        var roots = request.Generated.ToDictionary(m => m.Model, m => Path.GetFullPath(m.Location), StringComparer.Ordinal);
        var galleryRoot = Path.GetFullPath(request.GalleryLocation);
        ReportWriter.WriteAll(report, outDirectory, (model, key) =>
        {
            var root = model is null ? galleryRoot : roots[model];
            var path = Path.GetFullPath(Path.Combine(root, key));
            // Keys come from listings, but a report must never read outside the corpus it describes.
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(path))
            {
                return null;
            }

            return ThumbnailRenderer.RenderJpeg(File.ReadAllBytes(path), 128);
        });
    }

    public static void PrintSummary(AuditReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Model: {report.ModelName}; {report.ScoringRule}");
        output.WriteLine($"Criterion: {report.Criterion}");
        output.WriteLine($"Gallery: {report.GalleryIndexed} images indexed, {report.GallerySkipped.Count} skipped");
        var withTruth = report.Models.Any(m => m.TrueRate is not null);
        var header = string.Create(CultureInfo.InvariantCulture, $"{"model",-16} {"images",7} {"replicas",8} {"ratio",8} {"95% CI (Wilson)",-19} {"skipped",7}  levels 0/1/2/3/4/5");
        output.WriteLine(withTruth ? header + "   true rate" : header);
        foreach (var model in report.Models)
        {
            var s = model.Summary;
            var line = string.Create(CultureInfo.InvariantCulture, $"{s.Model,-16} {s.Scanned,7} {s.Replicas,8} {ReportWriter.Percent(s.Ratio),8} {ReportWriter.Percent(s.Lower) + " - " + ReportWriter.Percent(s.Upper),-19} {s.Skipped,7}  {string.Join('/', s.LevelHistogram)}");
            if (model.TrueRate is { } truth)
            {
                var inside = truth >= s.Lower && truth <= s.Upper;
                line += $"   {ReportWriter.Percent(truth)} {(inside ? "(inside)" : "(OUTSIDE)")}";
            }

            output.WriteLine(line);
        }
    }

    private static async Task RequireImagesAsync(CorpusSourceResolver resolver, string option, string location, CancellationToken cancellationToken)
    {
        ICorpusSource source;
        try
        {
            source = resolver.Open(location);
        }
        catch (CorpusException ex)
        {
            throw new CliError($"{option}: {ex.Message}", ex);
        }

        await foreach (var _ in source.ListAsync(cancellationToken))
        {
            return;
        }

        throw new CliError($"{option}: '{location}' holds no files.");
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ModelName();
}
