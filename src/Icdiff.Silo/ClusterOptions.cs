namespace Icdiff.Silo;

/// <summary>How a silo joins its cluster (section <see cref="SectionName"/>); validated before the silo starts.</summary>
public sealed class IcdiffClusterOptions
{
    public const string SectionName = "Icdiff:Cluster";

    /// <summary>Redis connection string for membership and run storage. A secret: never logged.</summary>
    public string? Redis { get; set; }

    public string ClusterId { get; set; } = "icdiff";

    public string ServiceId { get; set; } = "icdiff";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients reach this one at (the pod IP in Kubernetes).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Redis))
        {
            throw new ArgumentException($"{SectionName}:Redis is required (a Redis connection string, e.g. localhost:6379).");
        }

        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535 || SiloPort == GatewayPort)
        {
            throw new ArgumentException($"{SectionName}:SiloPort and {SectionName}:GatewayPort must be distinct ports 1..65535.");
        }

        if (!System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
        {
            throw new ArgumentException($"{SectionName}:AdvertisedAddress must be an IP address (got '{AdvertisedAddress}').");
        }
    }
}
