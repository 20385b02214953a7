using Icdiff.Dashboard.Pages;
using Icdiff.History;
using Icdiff.Imaging.Skia;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Dashboard;

public static class DashboardEndpoints
{
    /// <summary>The dashboard's services: its options (the host validates them against its listen addresses) and the corpus previews. The host registers the history store and the corpus resolver.</summary>
    public static IServiceCollection AddIcdiffDashboard(this IServiceCollection services)
    {
        services.AddOptions<IcdiffDashboardOptions>().BindConfiguration(IcdiffDashboardOptions.SectionName);
        // Thumbnails decode under the same pixel budget as the pipeline (Icdiff:Decoder:MaxPixels).
        services.AddOptions<DecoderOptions>().BindConfiguration(DecoderOptions.SectionName);
        services.TryAddSingleton<CorpusPreviewService>();
        // The pages are Razor components rendered on the server (static HTML: no circuit, no script).
        services.AddRazorComponents();
        services.TryAddSingleton(DashboardSession.Create());
        return services;
    }

    /// <summary>
    /// Guards every path except <paramref name="openPaths"/> (health and metrics probes): security headers, the Host
    /// check, and the API key when the host listens beyond loopback. Call before mapping endpoints.
    /// </summary>
    public static IApplicationBuilder UseDashboardAccess(this IApplicationBuilder app, params string[] openPaths) =>
        app.UseWhen(c => !openPaths.Any(p => c.Request.Path.StartsWithSegments(p, StringComparison.Ordinal)), b => b.UseMiddleware<DashboardGuardMiddleware>().UseMiddleware<ApiKeyMiddleware>());

    /// <summary>Maps the pages and the JSON and export API under <paramref name="basePath"/> ("" for the root).</summary>
    public static IEndpointRouteBuilder MapIcdiffDashboard(this IEndpointRouteBuilder endpoints, string basePath = "")
    {
        basePath = basePath.TrimEnd('/');
        var group = endpoints.MapGroup(basePath.Length == 0 ? "/" : basePath);

        group.MapGet("/", async (IRunHistoryStore store, IOptions<IcdiffDashboardOptions> options, CancellationToken ct) =>
            Page<OverviewPage>(new() { [nameof(OverviewPage.BasePath)] = basePath, [nameof(OverviewPage.Runs)] = await store.ListRunsAsync(500, ct), [nameof(OverviewPage.RefreshSeconds)] = options.Value.RefreshSeconds }));

        group.MapGet("/runs", async (IRunHistoryStore store, CancellationToken ct) => Page<RunsPage>(new() { [nameof(RunsPage.BasePath)] = basePath, [nameof(RunsPage.Runs)] = await store.ListRunsAsync(500, ct) }));

        group.MapGet("/runs/{runId}", async (string runId, int? skips, IRunHistoryStore store, IOptions<IcdiffDashboardOptions> options, CancellationToken ct) =>
        {
            if (await store.GetRunAsync(runId, ct) is not { } run)
            {
                return NotFound(basePath, runId);
            }

            var page = Math.Max(0, skips ?? 0);
            // What changed: each model against the run the alert rules compare it with (the schedule's previous run, or that model's).
            var previous = new Dictionary<string, (string RunId, HistoryModel Model)>(StringComparer.Ordinal);
            foreach (var model in run.Models)
            {
                if (await store.FindPreviousAsync(run.Schedule, model.Model, run.StartedAt, ct) is { } before && before.Models.FirstOrDefault(m => m.Model == model.Model) is { } then)
                {
                    previous[model.Model] = (before.RunId, then);
                }
            }

            return Page<RunPage>(new()
            {
                [nameof(RunPage.BasePath)] = basePath,
                [nameof(RunPage.Run)] = run,
                [nameof(RunPage.Previous)] = previous,
                [nameof(RunPage.Skips)] = await store.GetSkipsAsync(runId, page * 100, 100, ct),
                [nameof(RunPage.SkipPage)] = page,
                [nameof(RunPage.RefreshSeconds)] = options.Value.RefreshSeconds,
            });
        });

        group.MapGet("/runs/{runId}/review", async (string runId, string? model, string? level, int? page, IRunHistoryStore store, CorpusPreviewService sources, CancellationToken ct) =>
        {
            if (await store.GetRunAsync(runId, ct) is not { } run)
            {
                return NotFound(basePath, runId);
            }

            var selectedModel = string.IsNullOrEmpty(model) ? null : model;
            int? selectedLevel = int.TryParse(level, System.Globalization.CultureInfo.InvariantCulture, out var l) && l is >= 0 and <= 5 ? l : null;
            var index = Math.Max(0, page ?? 0);
            var images = await store.GetImagesAsync(new ImageQuery(runId, selectedModel, selectedLevel, index * ReviewPage.PageSize, ReviewPage.PageSize), ct);
            var prompts = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            foreach (var name in images.Items.Select(i => i.Model).Distinct(StringComparer.Ordinal))
            {
                if (run.Models.FirstOrDefault(m => m.Model == name) is { } shown)
                {
                    prompts[name] = await sources.PromptsAsync(shown.Location, ct);
                }
            }

            return Page<ReviewPage>(new()
            {
                [nameof(ReviewPage.BasePath)] = basePath,
                [nameof(ReviewPage.Run)] = run,
                [nameof(ReviewPage.Model)] = selectedModel,
                [nameof(ReviewPage.Level)] = selectedLevel,
                [nameof(ReviewPage.Page)] = index,
                [nameof(ReviewPage.Images)] = images,
                [nameof(ReviewPage.Prompt)] = (Func<string, string, string?>)((m, k) => prompts.GetValueOrDefault(m)?.GetValueOrDefault(k)),
            });
        });

        group.MapGet("/thumbs/{runId}/generated/{model}", async (string runId, string model, string key, IRunHistoryStore store, CorpusPreviewService previews, CancellationToken ct) =>
            await store.GetRunAsync(runId, ct) is { } run && run.Models.FirstOrDefault(m => m.Model == model) is { } m
                ? Thumbnail(await previews.GetThumbnailAsync(runId, model, m.Location, key, ct))
                : Results.NotFound());

        group.MapGet("/thumbs/{runId}/gallery", async (string runId, string key, IRunHistoryStore store, CorpusPreviewService previews, CancellationToken ct) =>
            await store.GetRunAsync(runId, ct) is { } run ? Thumbnail(await previews.GetThumbnailAsync(runId, null, run.Gallery, key, ct)) : Results.NotFound());

        group.MapGet("/api/runs", async (IRunHistoryStore store, int? limit, CancellationToken ct) => Results.Json(await store.ListRunsAsync(Math.Clamp(limit ?? 100, 1, 5000), ct)));

        group.MapGet("/api/runs/{runId}", async (string runId, IRunHistoryStore store, CancellationToken ct) =>
            await store.GetRunAsync(runId, ct) is { } run ? Results.Json(run) : Results.NotFound());

        group.MapGet("/api/runs/{runId}/export", async (HttpContext context, string runId, string? format, IRunHistoryStore store, CancellationToken ct) =>
        {
            var chosen = format ?? "json";
            if (!RunExporter.Formats.Contains(chosen))
            {
                return Results.BadRequest($"format must be one of {string.Join(", ", RunExporter.Formats)}");
            }

            if (await store.GetRunAsync(runId, ct) is null)
            {
                return Results.NotFound();
            }

            context.Response.ContentType = chosen == "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"icdiff-{SafeFileName(runId)}.{chosen}\"";
            await RunExporter.WriteAsync(store, runId, chosen, context.Response.Body, ct);
            return Results.Empty;
        });

        return endpoints;
    }

    /// <summary>A page rendered on the server by its Razor component, which escapes every value it writes.</summary>
    private static RazorComponentResult<TPage> Page<TPage>(Dictionary<string, object?> parameters)
        where TPage : IComponent => new(parameters) { ContentType = "text/html; charset=utf-8" };

    private static IResult NotFound(string basePath, string runId) =>
        new RazorComponentResult<NotFoundPage>(new Dictionary<string, object?> { [nameof(NotFoundPage.BasePath)] = basePath, [nameof(NotFoundPage.RunId)] = runId })
        {
            ContentType = "text/html; charset=utf-8",
            StatusCode = StatusCodes.Status404NotFound,
        };

    /// <summary>The image, or the reason there is none in words (the page shows the pair without it).</summary>
    private static IResult Thumbnail(ThumbnailResult result) => result.Status switch
    {
        ThumbnailStatus.Ok => Results.File(result.Jpeg!, "image/jpeg"),
        ThumbnailStatus.Changed => Results.Text(result.Message, statusCode: StatusCodes.Status409Conflict),
        ThumbnailStatus.Refused => Results.Text(result.Message, statusCode: StatusCodes.Status403Forbidden),
        ThumbnailStatus.Busy => Results.Text(result.Message, statusCode: StatusCodes.Status503ServiceUnavailable),
        _ => Results.Text(result.Message, statusCode: StatusCodes.Status404NotFound),
    };

    private static string SafeFileName(string runId) => new([.. runId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
}
