namespace Icdiff.Grains;

/// <summary>
/// One configured audit schedule, keyed by its name. A reminder wakes it every tick; when the schedule's cron time has
/// come since its last run (and no run of it is under way), it starts a run over the images new since then.
/// </summary>
public interface IScheduleGrain : IGrainWithStringKey
{
    /// <summary>Registers the schedule's reminder (idempotent); called on every coordinator silo's start.</summary>
    Task EnsureRegisteredAsync();

    /// <summary>Starts a run of the schedule now, whatever its cron says (a Kubernetes CronJob, or by hand); returns its id, or null while one is under way.</summary>
    Task<string?> RunNowAsync();
}
