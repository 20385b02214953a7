using System.Globalization;

namespace Icdiff.History;

/// <summary>
/// When a model's figures in a run deserve a look: its ratio above the configured limit, or its interval wholly above
/// the previous comparable run's (a rise the sampling noise cannot explain).
/// </summary>
public static class AlertRules
{
    /// <summary>Why <paramref name="current"/> is flagged, or null. A model that scanned nothing is never flagged.</summary>
    public static string? Evaluate(HistoryModel current, HistoryModel? previous, double? limit)
    {
        if (current.Scanned == 0)
        {
            return null;
        }

        var reasons = new List<string>();
        if (limit is { } max && current.Ratio > max)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"ratio {Pct(current.Ratio)} is above the limit {Pct(max)}"));
        }

        if (previous is { Scanned: > 0 } && current.Lower > previous.Upper)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"interval [{Pct(current.Lower)}, {Pct(current.Upper)}] lies wholly above the previous run's [{Pct(previous.Lower)}, {Pct(previous.Upper)}]"));
        }

        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    private static string Pct(double ratio) => (ratio * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
