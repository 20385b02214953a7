namespace Icdiff.Grains;

/// <summary>One audit run, keyed by run id: plans the work, drives it and tracks progress.</summary>
public interface IAuditRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run and returns at once; starting a run that already started returns its status.</summary>
    Task<RunStatus> StartAsync(AuditRequest request);

    Task<RunStatus> GetStatusAsync();

    /// <summary>
    /// The status as soon as it differs from revision <paramref name="seenRevision"/> (a shard done, a state change),
    /// or after <paramref name="maxWait"/> (at most 10 s) when nothing changed: followers get progress as it happens
    /// instead of polling. A finished run answers at once.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<RunStatus> WaitForChangeAsync(long seenRevision, TimeSpan maxWait);

    /// <summary>The request the run was started with; null for a run id never started.</summary>
    Task<AuditRequest?> GetRequestAsync();

    Task CancelAsync();

    /// <summary>
    /// Carries a failed or cancelled run on from its stored results (only unrecorded items are processed); with
    /// <paramref name="retryFailed"/>, also re-runs the items that were skipped, in any finished run. A run under
    /// way is left as it is. Returns the status.
    /// </summary>
    Task<RunStatus> ResumeAsync(bool retryFailed);
}
