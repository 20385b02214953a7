using System.Text.RegularExpressions;
using Cronos;
using Icdiff.Core;

namespace Icdiff.Grains;

/// <summary>Audit schedules and how often their reminders look at them. Bound from <see cref="SectionName"/>.</summary>
public sealed partial class SchedulingOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Scheduling";

    /// <summary>How often each schedule's reminder checks whether its cron time has come (Orleans' minimum is one minute unless lowered).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The schedules by name (letters, digits, '.', '_', '-').</summary>
    public Dictionary<string, AuditSchedule> Schedules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem, one per line (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of the section and of each schedule, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (TickInterval < TimeSpan.FromMilliseconds(100) || TickInterval > TimeSpan.FromDays(1))
        {
            problems.Add($"{SectionName}:TickInterval must be 0.1 s .. 1 day (got {TickInterval}).");
        }

        foreach (var (name, schedule) in Schedules)
        {
            if (!Name().IsMatch(name))
            {
                problems.Add($"{SectionName}:Schedules: '{name}' may only use letters, digits, '.', '_' and '-' (at most 48).");
                continue;
            }

            problems.AddRange(schedule.Problems($"{SectionName}:Schedules:{name}"));
        }

        return problems;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,48}$")]
    private static partial Regex Name();
}

/// <summary>One schedule: when (cron, 5 fields, or 6 with seconds first), what (gallery and model corpora) and how (manifest, criterion).</summary>
public sealed class AuditSchedule
{
    /// <summary>When to run; empty: only on demand (<c>icdiff schedule-run</c>, as the Helm chart's CronJob calls it).</summary>
    public string Cron { get; set; } = "";

    /// <summary>The time zone the cron expression is read in (an IANA or Windows id).</summary>
    public string TimeZone { get; set; } = "UTC";

    public string Gallery { get; set; } = "";

    /// <summary>Model name to corpus location.</summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.Ordinal);

    public string ModelManifest { get; set; } = "builtin";

    public int MinLevel { get; set; } = ReplicaCriterion.DefaultMinLevel;

    public int Candidates { get; set; } = ReplicaCriterion.DefaultCandidates;

    public int ShardSize { get; set; } = 64;

    /// <summary>Which candidate is the match (<c>top1</c> or <c>max-level</c>); see the README's "What the ratio means".</summary>
    public string MatchRule { get; set; } = Icdiff.Core.MatchRule.Top1;

    /// <summary>Images known not to be in the gallery, audited beside the models as the run's control floor.</summary>
    public string? Control { get; set; }

    public bool OnDemandOnly => string.IsNullOrWhiteSpace(Cron);

    public CronExpression ParseCron()
    {
        var fields = Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CronExpression.Parse(Cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
    }

    public TimeZoneInfo ParseTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public AuditRequest ToRequest(string scheduleName)
    {
        IEnumerable<ModelCorpus> models = Models.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => new ModelCorpus(m.Key, m.Value));
        if (!string.IsNullOrWhiteSpace(Control))
        {
            models = models.Append(new ModelCorpus(AuditRequest.ControlModel, Control));
        }

        return new(Gallery, [.. models], ModelManifest, MinLevel, Candidates, ShardSize, scheduleName, MatchRule: MatchRule, Control: string.IsNullOrWhiteSpace(Control) ? null : Control);
    }

    /// <summary>Throws naming every problem of this schedule, one per line.</summary>
    public void Validate(string section) => SettingsProblems.ThrowIfAny(Problems(section));

    /// <summary>Every problem of this schedule, each naming its key under <paramref name="section"/>.</summary>
    public List<string> Problems(string section)
    {
        var problems = new List<string>();
        try
        {
            if (!OnDemandOnly)
            {
                _ = ParseCron();
            }
        }
        catch (CronFormatException ex)
        {
            problems.Add($"{section}:Cron '{Cron}' is not a cron expression: {ex.Message}");
        }

        try
        {
            _ = ParseTimeZone();
        }
        catch (TimeZoneNotFoundException)
        {
            problems.Add($"{section}:TimeZone '{TimeZone}' is not a known time zone.");
        }

        if (string.IsNullOrWhiteSpace(Gallery))
        {
            problems.Add($"{section}:Gallery must name the gallery corpus.");
        }

        if (Models.Count == 0 || Models.Any(m => string.IsNullOrWhiteSpace(m.Value)))
        {
            problems.Add($"{section}:Models must map at least one model name to its corpus location.");
        }

        try
        {
            new ReplicaCriterion(MinLevel, Candidates, MatchRule).Validate();
        }
        catch (ArgumentException ex)
        {
            // The criterion speaks in command-line terms (min-level, candidates); a schedule's error names its section.
            problems.Add($"{section}: {ex.Message}");
        }

        if (ShardSize is < 1 or > 100_000)
        {
            problems.Add($"{section}:ShardSize must be 1..100000 (got {ShardSize}).");
        }

        return problems;
    }
}
