using System.Globalization;
using Icdiff.History;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// A schedule's clock. Its reminder survives silo restarts (a reminder service of the cluster keeps it); each tick it
/// reads the schedule's latest run from the history and starts a run when the cron time after that run's start has
/// come. Runs of one schedule never overlap: a tick that finds one under way does nothing.
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed partial class ScheduleGrain(
    IOptionsMonitor<SchedulingOptions> options,
    IRunHistoryStore history,
    ILogger<ScheduleGrain> logger) : Grain, IScheduleGrain, IRemindable
{
    private const string ReminderName = "schedule-tick";
    private readonly DateTimeOffset _since = DateTimeOffset.UtcNow;

    /// <summary>How long after a run's end its history record may still be on its way (normally milliseconds).</summary>
    private static readonly TimeSpan EndRecordGrace = TimeSpan.FromMinutes(1);

    public async Task EnsureRegisteredAsync()
    {
        var tick = options.CurrentValue.TickInterval;
        await this.RegisterOrUpdateReminder(ReminderName, tick, tick);
    }

    public async Task<string?> RunNowAsync()
    {
        var name = this.GetPrimaryKeyString();
        var schedule = options.CurrentValue.Schedules.GetValueOrDefault(name) ?? throw new InvalidOperationException($"no schedule '{name}' is configured ({SchedulingOptions.SectionName}:Schedules).");
        return await IsRunUnderWayAsync() ? null : await StartRunAsync(schedule);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        var name = this.GetPrimaryKeyString();
        if (options.CurrentValue.Schedules.GetValueOrDefault(name) is not { } schedule)
        {
            // Taken out of the configuration: stop waking up for it.
            Log.Removed(logger, name);
            if (await this.GetReminder(ReminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        if (schedule.OnDemandOnly)
        {
            return;
        }

        try
        {
            var latest = await history.GetLatestOfScheduleAsync(name);
            if (latest is not null && await IsRunUnderWayAsync(latest))
            {
                return;
            }

            var from = latest?.StartedAt ?? _since;
            var due = schedule.ParseCron().GetNextOccurrence(from, schedule.ParseTimeZone());
            if (due is null || due > DateTimeOffset.UtcNow)
            {
                return;
            }

            await StartRunAsync(schedule);
        }
        catch (Exception ex) when (ex is HistoryStoreException or System.Data.Common.DbException or IOException)
        {
            // The next tick tries again; the run was not started, so nothing is half done.
            Log.Failed(logger, ex, name);
        }
    }

    private async Task<bool> IsRunUnderWayAsync(HistoryRun? latest = null)
    {
        latest ??= await history.GetLatestOfScheduleAsync(this.GetPrimaryKeyString());
        if (latest is null || !latest.IsRunning)
        {
            return false;
        }

        // The history says running; the run grain knows (its end may not have been written, a store outage say). A
        // run that ended moments ago is still writing its end: the next run must wait for it, or it would not see the
        // images this one processed and audit them again. Past the grace, the end is taken as lost and the schedule goes on.
        var status = await GrainFactory.GetGrain<IAuditRunGrain>(latest.RunId).GetStatusAsync();
        if (status.IsFinished && (status.FinishedAt is not { } finished || DateTimeOffset.UtcNow - finished > EndRecordGrace))
        {
            return false;
        }

        Log.Skipped(logger, this.GetPrimaryKeyString(), latest.RunId);
        return true;
    }

    private async Task<string> StartRunAsync(AuditSchedule schedule)
    {
        var name = this.GetPrimaryKeyString();
        var runId = string.Create(CultureInfo.InvariantCulture, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}");
        await GrainFactory.GetGrain<IAuditRunGrain>(runId).StartAsync(schedule.ToRequest(name));
        Log.Fired(logger, name, runId);
        return runId;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.ScheduleFired, Level = LogLevel.Information, Message = "Schedule {Schedule} started run {Run}")]
        public static partial void Fired(ILogger logger, string schedule, string run);

        [LoggerMessage(EventId = GrainEventIds.ScheduleSkipped, Level = LogLevel.Information, Message = "Schedule {Schedule}: run {Run} is still under way; this tick starts nothing")]
        public static partial void Skipped(ILogger logger, string schedule, string run);

        [LoggerMessage(EventId = GrainEventIds.ScheduleFailed, Level = LogLevel.Warning, Message = "Schedule {Schedule}: the history store could not be read; the next tick tries again")]
        public static partial void Failed(ILogger logger, Exception exception, string schedule);

        [LoggerMessage(EventId = GrainEventIds.ScheduleRemoved, Level = LogLevel.Information, Message = "Schedule {Schedule} is no longer configured; its reminder is removed")]
        public static partial void Removed(ILogger logger, string schedule);
    }
}
