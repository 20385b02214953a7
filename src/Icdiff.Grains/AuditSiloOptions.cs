using Icdiff.Core;

namespace Icdiff.Grains;

/// <summary>Silo-wide settings of the audit grains. Bound from <see cref="SectionName"/>.</summary>
public sealed class AuditSiloOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Silo";

    /// <summary>Where gallery indexes are persisted. Must be shared by all silos of a cluster that search them.</summary>
    public string DataDirectory { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "icdiff");

    /// <summary>
    /// Read on worker silos: shards this silo works on at once (it tells the coordinators' dispatchers); 0 = four
    /// per core of this silo, enough to keep every pipeline stage fed.
    /// </summary>
    public int MaxShardsInFlight { get; set; }

    /// <summary>Attempts per shard before the run fails (a silo lost mid-call is retried elsewhere).</summary>
    public int ShardAttempts { get; set; } = 3;

    /// <summary>
    /// What this silo hosts, comma-separated: <c>coordinator</c> (run, aggregate and gallery-index grains) and
    /// <c>worker</c> (decode, embed and search: the GPU silos in production). A silo without a role never activates
    /// that role's grains.
    /// </summary>
    public string Roles { get; set; } = "coordinator,worker";

    /// <summary>How long a run waits for a worker silo to join before it fails with that reason.</summary>
    public TimeSpan WorkerWaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Read on coordinators: a worker call that has not answered within this many times the median duration of the
    /// run's recent calls (and at least <see cref="StalledCallFloor"/>) is presumed lost and sent again to another
    /// worker. Orleans can drop a message while its directory settles after silos restart on the same addresses, and
    /// the response timeout that would surface the loss has to be long enough for the slowest shard (minutes). The
    /// first call keeps waiting, its result is still recorded if it comes, and items are counted once. 0 turns this off.
    /// </summary>
    public double StalledCallFactor { get; set; } = 10;

    /// <summary>Read on coordinators: the shortest wait before a worker call is presumed lost (see <see cref="StalledCallFactor"/>).</summary>
    public TimeSpan StalledCallFloor { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Items a worker records at a time while it scans a shard, so a resumed run redoes only unrecorded items.</summary>
    public int CheckpointItems { get; set; } = 16;

    public bool IsWorker => HasRole(SiloRoles.Worker);

    public bool IsCoordinator => HasRole(SiloRoles.Coordinator);

    public int EffectiveShardsInFlight => MaxShardsInFlight > 0 ? MaxShardsInFlight : Math.Max(4, 4 * Environment.ProcessorCount);

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            problems.Add($"{SectionName}:DataDirectory must be set.");
        }

        if (MaxShardsInFlight is < 0 or > 10_000)
        {
            problems.Add($"{SectionName}:MaxShardsInFlight must be 0..10000 (got {MaxShardsInFlight}).");
        }

        var roles = RoleList();
        if (roles.Length == 0 || roles.Any(r => r is not (SiloRoles.Coordinator or SiloRoles.Worker)))
        {
            problems.Add($"{SectionName}:Roles must list one or both of '{SiloRoles.Coordinator}' and '{SiloRoles.Worker}' (got '{Roles}').");
        }

        if (WorkerWaitTimeout < TimeSpan.Zero || WorkerWaitTimeout > TimeSpan.FromDays(1))
        {
            problems.Add($"{SectionName}:WorkerWaitTimeout must be 0 .. 1 day (got {WorkerWaitTimeout}).");
        }

        if (CheckpointItems is < 1 or > 100_000)
        {
            problems.Add($"{SectionName}:CheckpointItems must be 1..100000 (got {CheckpointItems}).");
        }

        if (!(StalledCallFactor == 0 || StalledCallFactor is >= 2 and <= 1000))
        {
            problems.Add($"{SectionName}:StalledCallFactor must be 0 (off) or 2..1000 (got {StalledCallFactor}).");
        }

        if (StalledCallFloor < TimeSpan.FromSeconds(1) || StalledCallFloor > TimeSpan.FromDays(1))
        {
            problems.Add($"{SectionName}:StalledCallFloor must be 1 s .. 1 day (got {StalledCallFloor}).");
        }

        if (ShardAttempts is < 1 or > 100)
        {
            problems.Add($"{SectionName}:ShardAttempts must be 1..100 (got {ShardAttempts}).");
        }

        return problems;
    }

    public bool HasRole(string role) => RoleList().Contains(role, StringComparer.Ordinal);

    private string[] RoleList() => (Roles ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => r.ToLowerInvariant()).ToArray();
}

/// <summary>The roles a silo can declare in <see cref="AuditSiloOptions.Roles"/>.</summary>
public static class SiloRoles
{
    public const string Coordinator = "coordinator";

    public const string Worker = "worker";
}
