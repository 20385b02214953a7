using System.Text.Json;

namespace Icdiff.Cli.Tests;

/// <summary>What must not depend on how or where a run ran: per-model figures, every match and every skip, in a stable order.</summary>
internal static class ReportResult
{
    public static async Task<string> ReadAsync(string outDirectory)
    {
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDirectory, "report.json"), TestContext.Current.CancellationToken));
        var lines = new List<string>();
        foreach (var model in report.RootElement.GetProperty("models").EnumerateArray())
        {
            lines.Add(model.GetProperty("summary").GetRawText());
            lines.AddRange(model.GetProperty("matches").EnumerateArray().Select(m => m.GetRawText()).Order(StringComparer.Ordinal));
            lines.AddRange(model.GetProperty("skipped").EnumerateArray().Select(m => m.GetRawText()).Order(StringComparer.Ordinal));
        }

        return string.Join('\n', lines);
    }
}
