using System.Globalization;
using System.Text;
using Icdiff.History;

namespace Icdiff.Dashboard;

/// <summary>The dashboard's pages, rendered from the history on the server. Every value from the store is escaped.</summary>
internal static class DashboardPages
{
    public const int ReviewPageSize = 24;

    public static string Overview(string basePath, IReadOnlyList<HistoryRun> runs, int refreshSeconds)
    {
        var body = new StringBuilder("<h1>Replication audits</h1>");
        var running = runs.Where(r => r.IsRunning).ToList();
        if (running.Count > 0)
        {
            body.Append("<section id=\"running\"><h2>Running now</h2>");
            foreach (var run in running)
            {
                body.Append(Progress(basePath, run));
            }

            body.Append("</section>");
        }

        // One chart per model, one point per completed run that audited it, oldest first.
        var completed = runs.Where(r => r.State == HistoryRunStates.Completed).OrderBy(r => r.StartedAt).ToList();
        var models = completed.SelectMany(r => r.Models.Select(m => m.Model)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        body.Append("<section id=\"models\"><h2>Models</h2>");
        if (models.Count == 0)
        {
            body.Append("<p class=\"muted\">No completed runs yet.</p>");
        }

        body.Append("<div class=\"cards\">");
        foreach (var model in models)
        {
            var history = completed.Select(r => (Run: r, Model: r.Models.FirstOrDefault(m => m.Model == model))).Where(p => p.Model is not null).ToList();
            var (latestRun, latest) = history[^1];
            var trend = history.Count > 1 ? latest!.Ratio - history[^2].Model!.Ratio : (double?)null;
            var points = history.Select(p => new SvgCharts.Point(p.Run.StartedAt.UtcDateTime.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture), p.Model!.Ratio, p.Model.Lower, p.Model.Upper, p.Model.Alert is not null)).ToList();
            body.Append(CultureInfo.InvariantCulture, $"""
                <div class="card model" data-model="{Html.E(model)}" data-points="{points.Count}">
                <h3>{Html.E(model)}</h3>
                <p>latest <span class="latest-ratio">{Html.Percent(latest!.Ratio)}</span> <span class="muted">[{Html.Percent(latest.Lower)}, {Html.Percent(latest.Upper)}] of {latest.Scanned} images, run <a href="{Html.E(basePath)}/runs/{Html.U(latestRun.RunId)}">{Html.E(latestRun.RunId)}</a></span>
                {Trend(trend)}{(latestRun.Schedule is not null ? $" <span class=\"muted\">cumulative {Html.Percent(latest.CumulativeRatio)} of {latest.CumulativeScanned}</span>" : "")}</p>
                {(latest.Alert is { } alert ? $"<p class=\"flag\">flagged: {Html.E(alert)}</p>" : "")}
                {SvgCharts.Ratio(points)}
                </div>
                """);
        }

        body.Append("</div></section>");
        body.Append("<section id=\"recent\"><h2>Recent runs</h2>").Append(RunTable(basePath, runs.Take(30))).Append("</section>");
        return Html.Page(basePath, "Overview", body.ToString(), running.Count > 0 ? refreshSeconds : null);
    }

    public static string Runs(string basePath, IReadOnlyList<HistoryRun> runs) =>
        Html.Page(basePath, "Runs", "<h1>Runs</h1>" + RunTable(basePath, runs), runs.Any(r => r.IsRunning) ? 10 : null);

    public static string Run(string basePath, HistoryRun run, IReadOnlyDictionary<string, (string RunId, HistoryModel Model)> previous, HistoryPage<HistorySkip> skips, int skipPage, int refreshSeconds)
    {
        var b = Html.E(basePath);
        var id = Html.U(run.RunId);
        var body = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<h1>Run {Html.E(run.RunId)}</h1>");
        body.Append(CultureInfo.InvariantCulture, $"""
            <table class="facts">
            <tr><th>state</th><td class="state">{Html.E(run.State)}{(run.Flagged ? " <span class=\"flag\">flagged</span>" : "")}</td></tr>
            <tr><th>schedule</th><td>{Html.E(run.Schedule ?? "- (ad hoc)")}</td></tr>
            <tr><th>started</th><td>{Html.Time(run.StartedAt)}</td></tr><tr><th>finished</th><td>{Html.Time(run.FinishedAt)} ({Html.Duration(run.Duration)})</td></tr>
            <tr><th>gallery</th><td>{Html.E(run.Gallery)}: {run.GalleryIndexed} indexed, {run.GallerySkipped} skipped{(run.GalleryIndex is { } index ? $" ({Html.E(index)} index)" : "")}</td></tr>
            <tr><th>model</th><td>{Html.E(run.ModelName)}; {Html.E(run.ScoringRule)}</td></tr>
            <tr><th>criterion</th><td>{Html.E(run.Criterion)}</td></tr>
            {(run.Error is { } error ? $"<tr><th>error</th><td class=\"flag\">{Html.E(error)}</td></tr>" : "")}
            </table>
            <p>Export: <a href="{b}/api/runs/{id}/export?format=csv">CSV</a> · <a href="{b}/api/runs/{id}/export?format=json">JSON</a> · <a href="{b}/runs/{id}/review">review matches</a>
            · <details style="display:inline"><summary>model manifest</summary><pre>{Html.E(run.ModelManifest)}</pre></details></p>
            """);
        if (run.IsRunning)
        {
            body.Append(Progress(basePath, run));
        }

        body.Append("<h2>Models</h2><table class=\"models\"><tr><th>model</th><th class=\"num\">images</th><th class=\"num\">replicas</th><th class=\"num\">ratio</th><th>95% interval</th><th class=\"num\">other rule</th><th class=\"num\">skipped</th><th>since previous run</th><th>cumulative</th><th>levels</th><th>alert</th></tr>");
        foreach (var m in run.Models)
        {
            body.Append(CultureInfo.InvariantCulture, $"""
                <tr data-model="{Html.E(m.Model)}"><td><a href="{b}/runs/{id}/review?model={Html.U(m.Model)}">{Html.E(m.Model)}</a><br><span class="muted">{Html.E(m.Location)}</span></td>
                <td class="num">{m.Scanned}</td><td class="num">{m.Replicas}</td><td class="num ratio">{Html.Percent(m.Ratio)}</td><td>[{Html.Percent(m.Lower)}, {Html.Percent(m.Upper)}]</td>
                <td class="num alt-ratio" title="the ratio under the match rule the criterion does not use (top1 / max-level)">{(m.AltRatio is { } alt ? Html.Percent(alt) : "-")}</td>
                <td class="num">{m.Skipped}</td><td class="change">{Change(basePath, m, previous.TryGetValue(m.Model, out var p) ? p : null)}</td><td>{(run.Schedule is null ? "-" : $"{Html.Percent(m.CumulativeRatio)} of {m.CumulativeScanned}")}</td>
                <td>{SvgCharts.Levels(m.Levels, run.MinLevel)}</td><td class="flag">{Html.E(m.Alert)}</td></tr>
                """);
        }

        body.Append("</table>");
        body.Append(CultureInfo.InvariantCulture, $"<h2>Skipped images ({skips.Total})</h2>");
        if (skips.Total > 0)
        {
            body.Append("<table class=\"skips\"><tr><th>model</th><th>image</th><th>reason</th><th>detail</th></tr>");
            foreach (var s in skips.Items)
            {
                body.Append(CultureInfo.InvariantCulture, $"<tr><td>{Html.E(s.Model)}</td><td>{Html.E(s.Key)}</td><td>{Html.E(s.Reason)}</td><td>{Html.E(s.Detail)}</td></tr>");
            }

            body.Append("</table>").Append(Pager($"{b}/runs/{id}?", "skips", skipPage, skips.Total, 100));
        }

        return Html.Page(basePath, $"Run {run.RunId}", body.ToString(), run.IsRunning ? refreshSeconds : null);
    }

    public static string Review(string basePath, HistoryRun run, string? model, int? level, int page, HistoryPage<HistoryImage> images, Func<string, string, string?> prompt)
    {
        var b = Html.E(basePath);
        var id = Html.U(run.RunId);
        var body = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<h1>Matches of run <a href=\"{b}/runs/{id}\">{Html.E(run.RunId)}</a></h1>");
        body.Append(CultureInfo.InvariantCulture, $"<form method=\"get\" action=\"{b}/runs/{id}/review\">model <select name=\"model\"><option value=\"\">all</option>");
        foreach (var m in run.Models)
        {
            body.Append(CultureInfo.InvariantCulture, $"<option value=\"{Html.E(m.Model)}\"{(m.Model == model ? " selected" : "")}>{Html.E(m.Model)}</option>");
        }

        body.Append(" </select> level <select name=\"level\"><option value=\"\">all</option>");
        for (var l = 5; l >= 0; l--)
        {
            body.Append(CultureInfo.InvariantCulture, $"<option value=\"{l}\"{(l == level ? " selected" : "")}>{l}</option>");
        }

        body.Append(CultureInfo.InvariantCulture, $"</select> <button type=\"submit\">show</button></form><p class=\"muted\">{images.Total} images, highest level first</p><div class=\"pairs\">");
        foreach (var image in images.Items)
        {
            var generated = $"{b}/thumbs/{id}/generated/{Html.U(image.Model)}?key={Html.U(image.Key)}";
            var gallery = image.GalleryKey is null ? null : $"{b}/thumbs/{id}/gallery?key={Html.U(image.GalleryKey)}";
            body.Append(CultureInfo.InvariantCulture, $"""
                <div class="pair" data-level="{image.Level}">
                <img class="generated" alt="generated {Html.E(image.Key)}" src="{generated}">
                {(gallery is null ? "<span class=\"muted\">no gallery match</span>" : $"<img class=\"gallery\" alt=\"gallery {Html.E(image.GalleryKey)}\" src=\"{gallery}\">")}
                <div><b>level {image.Level}</b> · score {Html.Num(image.Score)} · {Html.E(image.Model)}</div>
                <div class="names"><span class="generated-name">{Html.E(image.Key)}</span> → <span class="gallery-name">{Html.E(image.GalleryKey ?? "-")}</span></div>
                {(prompt(image.Model, image.Key) is { } text ? $"<div class=\"prompt muted\">{Html.E(text)}</div>" : "")}
                </div>
                """);
        }

        body.Append("</div>");
        var filter = $"{b}/runs/{id}/review?model={Html.U(model)}&amp;level={(level is { } lv ? lv.ToString(CultureInfo.InvariantCulture) : "")}&amp;";
        body.Append(Pager(filter, "page", page, images.Total, ReviewPageSize));
        return Html.Page(basePath, $"Review {run.RunId}", body.ToString());
    }

    private static string Progress(string basePath, HistoryRun run)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<div class=\"progress\" data-run=\"{Html.E(run.RunId)}\"><a href=\"{Html.E(basePath)}/runs/{Html.U(run.RunId)}\">{Html.E(run.RunId)}</a> started {Html.Time(run.StartedAt)}<ul>");
        foreach (var m in run.Models)
        {
            var total = Math.Max(m.Listed, m.Done);
            text.Append(CultureInfo.InvariantCulture, $"<li>{Html.E(m.Model)}: <progress max=\"{Math.Max(1, total)}\" value=\"{m.Done}\"></progress> <span class=\"done\">{m.Done}</span> of {total}{(m.ListingComplete ? "" : "+ (still listing)")}</li>");
        }

        return text.Append("</ul></div>").ToString();
    }

    private static string RunTable(string basePath, IEnumerable<HistoryRun> runs)
    {
        var table = new StringBuilder("<table class=\"runs\"><tr><th>run</th><th>schedule</th><th>state</th><th>started</th><th>duration</th><th>models (ratio)</th></tr>");
        foreach (var run in runs)
        {
            var models = string.Join(", ", run.Models.Select(m => run.State == HistoryRunStates.Completed ? $"{Html.E(m.Model)} {Html.Percent(m.Ratio)}" : Html.E(m.Model)));
            table.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"{Html.E(basePath)}/runs/{Html.U(run.RunId)}\">{Html.E(run.RunId)}</a></td><td>{Html.E(run.Schedule ?? "-")}</td><td>{Html.E(run.State)}{(run.Flagged ? " <span class=\"flag\">flagged</span>" : "")}</td><td>{Html.Time(run.StartedAt)}</td><td>{Html.Duration(run.Duration)}</td><td>{models}</td></tr>");
        }

        return table.Append("</table>").ToString();
    }

    private static string Change(string basePath, HistoryModel current, (string RunId, HistoryModel Model)? previous) => previous is not { } p
        ? "<span class=\"muted\">first run</span>"
        : string.Create(CultureInfo.InvariantCulture, $"{Trend(current.Ratio - p.Model.Ratio)} <span class=\"muted\">from {Html.Percent(p.Model.Ratio)} in <a href=\"{Html.E(basePath)}/runs/{Html.U(p.RunId)}\">{Html.E(p.RunId)}</a>; replicas {current.Replicas - p.Model.Replicas:+0;-0;0}</span>");

    private static string Trend(double? change) => change switch
    {
        null => "",
        > 0.0005 => $"<span class=\"trend up\">▲ {Html.Num(change.Value * 100)} pts</span>",
        < -0.0005 => $"<span class=\"trend down\">▼ {Html.Num(-change.Value * 100)} pts</span>",
        _ => "<span class=\"trend\">= unchanged</span>",
    };

    private static string Pager(string prefix, string parameter, int page, int total, int size)
    {
        var pages = Math.Max(1, (total + size - 1) / size);
        if (pages == 1)
        {
            return "";
        }

        var links = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<p class=\"pager\">page {page + 1} of {pages} ");
        if (page > 0)
        {
            links.Append(CultureInfo.InvariantCulture, $"<a href=\"{prefix}{parameter}={page - 1}\">previous</a> ");
        }

        if (page + 1 < pages)
        {
            links.Append(CultureInfo.InvariantCulture, $"<a href=\"{prefix}{parameter}={page + 1}\">next</a>");
        }

        return links.Append("</p>").ToString();
    }
}
