using Icdiff.Core;
using Icdiff.Files;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Icdiff.Grains;

namespace Icdiff.Reporting;

/// <summary>
/// Writes report.json, matches.csv and report.html. The HTML embeds its thumbnails as data URIs and draws its
/// histograms with CSS, so it opens anywhere with nothing fetched. Every name from a corpus is escaped.
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

    public static void WriteAll(AuditReport report, string directory, ThumbnailSource thumbnails, int topMatchesPerModel = DefaultTopMatches)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, JsonFile), JsonSerializer.Serialize(report, Json));
        WriteCsv(report, Path.Combine(directory, CsvFile));
        File.WriteAllText(Path.Combine(directory, HtmlFile), RenderHtml(report, thumbnails, topMatchesPerModel));
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

    public static string RenderHtml(AuditReport report, ThumbnailSource thumbnails, int topMatchesPerModel)
    {
        var h = HtmlEncoder.Default;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>icdiff audit ")
            .Append(h.Encode(report.RunId)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}")
            .Append("td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th{background:#f3f3f3}td.l{text-align:left}")
            .Append(".bar{display:inline-block;background:#4a7bd0;height:.8rem}.pair{display:inline-block;margin:.4rem;padding:.4rem;border:1px solid #ddd;font-size:.8rem;vertical-align:top}")
            .Append(".pair img{width:128px;height:128px;object-fit:contain;background:#eee;margin-right:.2rem}.ci{color:#666}")
            .Append("</style></head><body>");
        html.Append("<h1>Replication audit</h1><p>Run <code>").Append(h.Encode(report.RunId)).Append("</code>, ")
            .Append(h.Encode(report.StartedAt.ToString("u", CultureInfo.InvariantCulture))).Append(" to ")
            .Append(h.Encode(report.FinishedAt.ToString("u", CultureInfo.InvariantCulture))).Append("</p><ul>")
            .Append("<li>Gallery: <code>").Append(h.Encode(report.GalleryLocation)).Append("</code>, ")
            .Append(report.GalleryIndexed).Append(" images indexed, ").Append(report.GallerySkipped.Count).Append(" skipped")
            .Append(report.GalleryIndex is { } index ? $" (gallery index: {h.Encode(index)})" : string.Empty).Append("</li>")
            .Append("<li>Model: ").Append(h.Encode(report.ModelName)).Append(" (").Append(h.Encode(report.ScoringRule)).Append(")</li>")
            .Append("<li>Criterion: ").Append(h.Encode(report.Criterion)).Append("</li>")
            .Append("<li>Match rule: <code>").Append(h.Encode(report.MatchRule)).Append("</code> (the ratio under <code>").Append(h.Encode(report.OtherMatchRule)).Append("</code> is shown beside it)</li>");
        if (report.Control is { } control)
        {
            var c = control.Summary;
            html.Append("<li>Control floor: <code>").Append(h.Encode(control.Location)).Append("</code>, ").Append(c.Scanned).Append(" images known not to be in the gallery, false-replica rate ")
                .Append(Percent(c.Ratio)).Append(" (").Append(Percent(c.Lower)).Append(" – ").Append(Percent(c.Upper)).Append(") under ").Append(h.Encode(report.MatchRule));
            if (c.AltRecorded)
            {
                html.Append(", ").Append(Percent(c.AltRatio)).Append(" under ").Append(h.Encode(report.OtherMatchRule));
            }

            html.Append("</li>");
        }

        html.Append("</ul>");

        html.Append("<h2>Replication ratio per model</h2><table><tr><th>model</th><th>images</th><th>replicas</th><th>ratio</th><th>95% interval (Wilson)</th>")
            .Append("<th>ratio under ").Append(h.Encode(report.OtherMatchRule)).Append("</th>");
        if (report.Control is not null)
        {
            html.Append("<th>clears the control floor</th>");
        }

        var anyTruth = report.Models.Any(m => m.TrueRate is not null);
        if (anyTruth)
        {
            html.Append("<th>true rate</th>");
        }

        html.Append("<th>skipped</th></tr>");
        foreach (var model in report.Models)
        {
            var s = model.Summary;
            html.Append("<tr><td class=\"l\">").Append(h.Encode(s.Model)).Append("</td><td>").Append(s.Scanned).Append("</td><td>").Append(s.Replicas)
                .Append("</td><td>").Append(Percent(s.Ratio)).Append("</td><td>").Append(Percent(s.Lower)).Append(" – ").Append(Percent(s.Upper)).Append("</td>")
                .Append("<td>").Append(s.AltRecorded ? $"{Percent(s.AltRatio)} ({Percent(s.AltLower)} – {Percent(s.AltUpper)})" : "not recorded").Append("</td>");
            if (report.Control is not null)
            {
                html.Append("<td>").Append(model.ClearsControl == true ? "yes" : "<strong>no</strong>").Append("</td>");
            }

            if (anyTruth)
            {
                html.Append("<td>").Append(model.TrueRate is { } t ? Percent(t) : "").Append("</td>");
            }

            html.Append("<td>").Append(s.Skipped).Append("</td></tr>");
        }

        html.Append("</table>");

        foreach (var model in report.Models)
        {
            var s = model.Summary;
            html.Append("<h2>").Append(h.Encode(s.Model)).Append("</h2><h3>Level histogram</h3><table><tr><th>level</th><th>images</th><th></th></tr>");
            var max = Math.Max(1, s.LevelHistogram.Max());
            for (var level = s.LevelHistogram.Length - 1; level >= 0; level--)
            {
                if (!report.IsGraded(level))
                {
                    // The model cannot tell this level from the one below: no count is shown as if it could.
                    html.Append("<tr><td>").Append(level).Append("</td><td>not graded</td><td></td></tr>");
                    continue;
                }

                var width = (int)Math.Round(300.0 * s.LevelHistogram[level] / max);
                html.Append("<tr><td>").Append(level).Append("</td><td>").Append(s.LevelHistogram[level])
                    .Append("</td><td class=\"l\"><span class=\"bar\" style=\"width:").Append(width).Append("px\"></span></td></tr>");
            }

            html.Append("</table><h3>Ratio by minimum level</h3><table><tr>");
            var cumulative = model.CumulativeRatios;
            for (var level = 1; level <= cumulative.Length; level++)
            {
                html.Append("<th>level &gt;= ").Append(level).Append("</th>");
            }

            html.Append("</tr><tr>");
            for (var level = 1; level <= cumulative.Length; level++)
            {
                html.Append("<td>").Append(report.IsGraded(level) ? Percent(cumulative[level - 1]) : "not graded").Append("</td>");
            }

            html.Append("</tr></table>");
            var (top, closestBelow) = ShownPairs(model, report.MinLevel, topMatchesPerModel);
            AppendPairs(html, "Top matches", s.Model, top, thumbnails);
            AppendPairs(html, $"Closest below level {report.MinLevel}", s.Model, closestBelow, thumbnails);
            AppendSkips(html, "Skipped images", model.Skipped);
        }

        AppendSkips(html, "Skipped gallery images", report.GallerySkipped);
        html.Append("</body></html>");
        return html.ToString();
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

    private static void AppendPairs(StringBuilder html, string title, string model, IReadOnlyList<MatchRecord> matches, ThumbnailSource thumbnails)
    {
        var h = HtmlEncoder.Default;
        html.Append("<h3>").Append(h.Encode(title)).Append("</h3><div>");
        foreach (var m in matches)
        {
            html.Append("<div class=\"pair\">").Append(Img(thumbnails(model, m.Key), m.Key)).Append(Img(thumbnails(null, m.GalleryKey!), m.GalleryKey!))
                .Append("<br>").Append(h.Encode(m.Key)).Append(" → ").Append(h.Encode(m.GalleryKey!))
                .Append("<br>level ").Append(m.Level).Append(", score ").Append(m.Similarity.ToString("0.000", CultureInfo.InvariantCulture)).Append("</div>");
        }

        html.Append("</div>");
    }

    private static void AppendSkips(StringBuilder html, string title, IReadOnlyList<SkipRecord> skips)
    {
        if (skips.Count == 0)
        {
            return;
        }

        var h = HtmlEncoder.Default;
        html.Append("<h3>").Append(h.Encode(title)).Append(" (").Append(skips.Count).Append(")</h3><table><tr><th>image</th><th>reason</th><th>detail</th></tr>");
        foreach (var skip in skips)
        {
            html.Append("<tr><td class=\"l\">").Append(h.Encode(skip.Key)).Append("</td><td class=\"l\">").Append(h.Encode(skip.Reason))
                .Append("</td><td class=\"l\">").Append(h.Encode(skip.Detail ?? string.Empty)).Append("</td></tr>");
        }

        html.Append("</table>");
    }

    private static string Img(byte[]? jpeg, string alt) =>
        jpeg is null
            ? $"<img alt=\"{HtmlEncoder.Default.Encode(alt)} (unavailable)\">"
            : $"<img alt=\"{HtmlEncoder.Default.Encode(alt)}\" src=\"data:image/jpeg;base64,{Convert.ToBase64String(jpeg)}\">";

    public static string Percent(double value) => (value * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";
}
