using System.Globalization;
using System.Text;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Files;

namespace Icdiff.History;

/// <summary>A run's data outside the dashboard: JSON (run, models, images, skips) or CSV (one row per generated image).</summary>
public static class RunExporter
{
    public static readonly string[] Formats = ["csv", "json"];

    private const int PageSize = 5000;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Writes <paramref name="runId"/> as <paramref name="format"/>; false when the store has no such run.</summary>
    public static async Task<bool> WriteAsync(IRunHistoryStore store, string runId, string format, Stream output, CancellationToken cancellationToken)
    {
        if (await store.GetRunAsync(runId, cancellationToken) is not { } run)
        {
            return false;
        }

        var images = await AllAsync((skip, take) => store.GetImagesAsync(new ImageQuery(runId, Skip: skip, Take: take), cancellationToken));
        var skips = await AllAsync((skip, take) => store.GetSkipsAsync(runId, skip, take, cancellationToken));
        switch (format)
        {
            case "json":
                await JsonSerializer.SerializeAsync(output, new { run, images, skips }, Json, cancellationToken);
                break;
            case "csv":
                await using (var writer = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true))
                {
                    await writer.WriteLineAsync("run_id,schedule,model,item_key,outcome,level,score,gallery_key,skip_reason,skip_detail,model_ratio,model_lower,model_upper,flagged");
                    var models = run.Models.ToDictionary(m => m.Model, StringComparer.Ordinal);
                    string Tail(string model) => models.TryGetValue(model, out var m)
                        ? string.Create(CultureInfo.InvariantCulture, $"{m.Ratio:R},{m.Lower:R},{m.Upper:R},{(m.Alert is null ? 0 : 1)}")
                        : ",,,";
                    foreach (var image in images)
                    {
                        await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{CsvLine.Field(run.RunId)},{CsvLine.Field(run.Schedule)},{CsvLine.Field(image.Model)},{CsvLine.Field(image.Key)},scored,{image.Level},{image.Score:R},{CsvLine.Field(image.GalleryKey)},,,{Tail(image.Model)}"));
                    }

                    foreach (var skip in skips)
                    {
                        await writer.WriteLineAsync($"{CsvLine.Field(run.RunId)},{CsvLine.Field(run.Schedule)},{CsvLine.Field(skip.Model)},{CsvLine.Field(skip.Key)},skipped,,,,{CsvLine.Field(skip.Reason)},{CsvLine.Field(skip.Detail)},{Tail(skip.Model)}");
                    }
                }

                break;
            default:
                throw new ArgumentException($"export format must be one of {string.Join(", ", Formats)} (got '{format}').", nameof(format));
        }

        return true;
    }

    private static async Task<List<T>> AllAsync<T>(Func<int, int, Task<HistoryPage<T>>> fetch)
    {
        var all = new List<T>();
        while (true)
        {
            var page = await fetch(all.Count, PageSize);
            all.AddRange(page.Items);
            if (page.Items.Count < PageSize)
            {
                return all;
            }
        }
    }
}
