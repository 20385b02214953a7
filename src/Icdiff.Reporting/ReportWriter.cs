using System.Globalization;
using System.Text;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Files;
using Icdiff.Grains;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Reporting;

/// <summary>
/// Writes report.json, matches.csv and report.html. The HTML embeds its thumbnails as data URIs and draws its
/// histograms with CSS, so it opens anywhere with nothing fetched; it is a Razor component rendered here, which
/// escapes every name from a corpus.
/// </summary>
public static class ReportWriter
{
    public const string JsonFile = "report.json";
    public const string CsvFile = "matches.csv";
    public const string HtmlFile = "report.html";

    /// <summary>
    /// The report's figures do not depend on where the images were stored: the stamps a match carries for the dashboard
    /// (sizes and times of files, ETags of blobs) stay out of report.json, so a folder and a blob copy report alike.
    /// </summary>
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    if (info.Type == typeof(MatchRecord))
                    {
                        foreach (var property in info.Properties.Where(p => p.Name is "stamp" or "galleryStamp").ToList())
                        {
                            info.Properties.Remove(property);
                        }
                    }
                },
            },
        },
    };

    public const int DefaultTopMatches = 12;

    /// <summary>Loads a JPEG thumbnail of an image, or null; (model or null for the gallery, key).</summary>
    public delegate byte[]? ThumbnailSource(string? model, string key);

    public static async Task WriteAllAsync(AuditReport report, string directory, ThumbnailSource thumbnails, int topMatchesPerModel = DefaultTopMatches)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, JsonFile), JsonSerializer.Serialize(report, Json));
        WriteCsv(report, Path.Combine(directory, CsvFile));
        await File.WriteAllTextAsync(Path.Combine(directory, HtmlFile), await RenderHtmlAsync(report, thumbnails, topMatchesPerModel));
    }

    public static void WriteCsv(AuditReport report, string path)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        // The last two columns: the match and level under the other match rule (empty where the run did not record them).
        writer.Write("model,image,best_match,level,score,replica,other_rule_match,other_rule_level\n");
        foreach (var model in report.Control is { } control ? report.Models.Append(control) : report.Models)
        {
            foreach (var m in model.Matches)
            {
                var other = m.AltLevel >= 0 ? string.Create(CultureInfo.InvariantCulture, $"{CsvLine.Field(m.AltGalleryKey)},{m.AltLevel}") : ",";
                writer.Write(string.Create(CultureInfo.InvariantCulture, $"{CsvLine.Field(model.Summary.Model)},{CsvLine.Field(m.Key)},{CsvLine.Field(m.GalleryKey)},{m.Level},{m.Similarity:0.000000},{(m.Level >= report.MinLevel ? 1 : 0)},{other}\n"));
            }
        }
    }

    /// <summary>report.html, rendered by its Razor component (<see cref="Html.ReportPage"/>), which escapes every name it writes.</summary>
    public static async Task<string> RenderHtmlAsync(AuditReport report, ThumbnailSource thumbnails, int topMatchesPerModel)
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var renderer = new HtmlRenderer(services, NullLoggerFactory.Instance);
        return await renderer.Dispatcher.InvokeAsync(async () =>
        {
            var parameters = ParameterView.FromDictionary(new Dictionary<string, object?>
            {
                [nameof(Html.ReportPage.Report)] = report,
                [nameof(Html.ReportPage.Thumbnails)] = thumbnails,
                [nameof(Html.ReportPage.TopMatchesPerModel)] = topMatchesPerModel,
            });
            var page = await renderer.RenderComponentAsync<Html.ReportPage>(parameters);
            return page.ToHtmlString();
        });
    }

    /// <summary>
    /// The pairs the page shows for a model: its best matches, and the closest ones below the criterion (what a
    /// reviewer looks at to judge the criterion).
    /// </summary>
    public static (IReadOnlyList<MatchRecord> Top, IReadOnlyList<MatchRecord> ClosestBelow) ShownPairs(ModelReport model, int minLevel, int topMatchesPerModel = DefaultTopMatches)
    {
        var withMatch = model.Matches.Where(m => m.GalleryKey is not null).ToArray();
        var top = withMatch.OrderByDescending(m => m.Level).ThenByDescending(m => m.Similarity).Take(topMatchesPerModel).ToArray();
        var below = withMatch.Where(m => m.Level < minLevel).OrderByDescending(m => m.Similarity).Take(topMatchesPerModel / 2).ToArray();
        return (top, below);
    }

    /// <summary>Every (model or null for the gallery, key) whose thumbnail the page shows.</summary>
    public static IReadOnlySet<(string? Model, string Key)> ThumbnailKeys(AuditReport report, int topMatchesPerModel = DefaultTopMatches)
    {
        var keys = new HashSet<(string?, string)>();
        foreach (var model in report.Models)
        {
            var (top, below) = ShownPairs(model, report.MinLevel, topMatchesPerModel);
            foreach (var m in top.Concat(below))
            {
                keys.Add((model.Summary.Model, m.Key));
                keys.Add((null, m.GalleryKey!));
            }
        }

        return keys;
    }

    public static string Percent(double value) => (value * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";
}
