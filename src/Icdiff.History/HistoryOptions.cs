using Icdiff.Core;

namespace Icdiff.History;

/// <summary>Where run history is kept, and when a run is flagged. Bound from <see cref="SectionName"/>.</summary>
public sealed class HistoryOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:History";

    /// <summary>A PostgreSQL connection string (cluster mode). Unset: SQLite at <see cref="SqlitePath"/>, or history.db under the data directory.</summary>
    public string? Postgres { get; set; }

    /// <summary>The SQLite file of embedded mode; unset: history.db under the data directory.</summary>
    public string? SqlitePath { get; set; }

    /// <summary>A model whose ratio rises above this (0..1) is flagged; unset: no limit. <see cref="ModelLimits"/> overrides it per model.</summary>
    public double? RatioLimit { get; set; }

    public Dictionary<string, double> ModelLimits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Called (HTTP POST, JSON) for every flagged run; unset: no call.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>How often a running audit writes its progress to the history.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (RatioLimit is < 0 or > 1 || ModelLimits.Values.Any(v => v is < 0 or > 1))
        {
            problems.Add($"{SectionName}:RatioLimit and ModelLimits are ratios: 0..1 (0.2 is 20%).");
        }

        if (WebhookUrl is { } hook && (!hook.IsAbsoluteUri || hook.Scheme is not ("http" or "https")))
        {
            // A webhook address often carries a token: the message says what is wrong with it, never what it is.
            problems.Add($"{SectionName}:WebhookUrl must be an absolute http(s) address (got {(hook.IsAbsoluteUri ? $"scheme '{hook.Scheme}'" : "a relative address")}).");
        }

        if (ProgressInterval < TimeSpan.FromMilliseconds(100) || ProgressInterval > TimeSpan.FromMinutes(10))
        {
            problems.Add($"{SectionName}:ProgressInterval must be 0.1 s .. 10 min (got {ProgressInterval}).");
        }

        return problems;
    }

    public double? LimitFor(string model) => ModelLimits.TryGetValue(model, out var limit) ? limit : RatioLimit;
}
