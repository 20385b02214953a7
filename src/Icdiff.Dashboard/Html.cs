using System.Globalization;
using System.Text.Encodings.Web;

namespace Icdiff.Dashboard;

/// <summary>Every user-controlled string (file names, model names, prompts, errors) reaches a page through these.</summary>
internal static class Html
{
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>A query or path component, escaped for the URL and then for the attribute.</summary>
    public static string U(string? text) => E(Uri.EscapeDataString(text ?? ""));

    public static string Percent(double value) => (value * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    public static string Time(DateTimeOffset? value) => value is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "-";

    public static string Duration(TimeSpan? value) => value is { } v ? (v.TotalHours >= 1 ? v.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : v.ToString(@"m\:ss", CultureInfo.InvariantCulture)) : "-";

    public static string Num(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Page(string basePath, string title, string body, int? refreshSeconds = null) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} · icdiff</title>
        {{(refreshSeconds is { } s ? $"<meta http-equiv=\"refresh\" content=\"{s}\">" : "")}}
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2330}a{color:#2456b3}
        table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}
        .num{text-align:right;font-variant-numeric:tabular-nums}.flag{color:#b3261e;font-weight:600}.up{color:#b3261e}.down{color:#1e7b34}
        .cards{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px solid #dde;border-radius:6px;padding:.8rem;min-width:340px}
        .pair{display:inline-block;width:330px;border:1px solid #dde;border-radius:6px;padding:.5rem;margin:.3rem;vertical-align:top;overflow-wrap:anywhere}
        .pair img{width:160px;height:160px;object-fit:contain;background:#f3f4f7}.pair .prompt{max-width:330px}.muted{color:#667}nav a{margin-right:1rem}
        </style></head><body><nav><a href="{{E(basePath)}}/">Overview</a><a href="{{E(basePath)}}/runs">Runs</a></nav>
        {{body}}
        </body></html>
        """;
}
