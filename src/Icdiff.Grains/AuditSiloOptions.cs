namespace Icdiff.Grains;

/// <summary>Silo-wide settings of the audit grains. Bound from <see cref="SectionName"/>.</summary>
public sealed class AuditSiloOptions
{
    public const string SectionName = "Icdiff:Silo";

    /// <summary>Where gallery indexes are persisted. Must be shared by all silos of a cluster that search them.</summary>
    public string DataDirectory { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "icdiff");

    /// <summary>Shards a run keeps in flight at once; 0 = four per core, enough to keep every pipeline stage fed.</summary>
    public int MaxShardsInFlight { get; set; }

    /// <summary>Attempts per shard before the run fails (a silo lost mid-call is retried elsewhere).</summary>
    public int ShardAttempts { get; set; } = 3;

    public int EffectiveShardsInFlight => MaxShardsInFlight > 0 ? MaxShardsInFlight : Math.Max(4, 4 * Environment.ProcessorCount);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException($"{SectionName}:DataDirectory must be set.");
        }

        if (MaxShardsInFlight is < 0 or > 10_000)
        {
            throw new ArgumentException($"{SectionName}:MaxShardsInFlight must be 0..10000 (got {MaxShardsInFlight}).");
        }

        if (ShardAttempts is < 1 or > 100)
        {
            throw new ArgumentException($"{SectionName}:ShardAttempts must be 1..100 (got {ShardAttempts}).");
        }
    }
}
