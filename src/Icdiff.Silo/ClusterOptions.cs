namespace Icdiff.Silo;

/// <summary>How a silo joins its cluster (section <see cref="SectionName"/>); validated before the silo starts.</summary>
public sealed class IcdiffClusterOptions
{
    public const string SectionName = "Icdiff:Cluster";

    private static readonly string[] PodVariables = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_CLUSTER_ID", "ORLEANS_SERVICE_ID"];

    /// <summary>Redis connection string for membership and run storage. A secret: never logged.</summary>
    public string? Redis { get; set; }

    public string ClusterId { get; set; } = "icdiff";

    public string ServiceId { get; set; } = "icdiff";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients reach this one at (in Kubernetes the pod IP, set by Kubernetes hosting).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Run under Orleans' Kubernetes hosting: silo name, address and cluster ids come from the pod (POD_NAME, POD_IP,
    /// POD_NAMESPACE, ORLEANS_CLUSTER_ID, ORLEANS_SERVICE_ID) and silos whose pods are gone are declared dead at once.
    /// Membership stays in Redis. The Helm chart sets it.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>Port of the silo's web host: the Orleans Dashboard (<c>/dashboard</c>), <c>/healthz</c> and Prometheus <c>/metrics</c>.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>Address the web host binds to. The dashboard shows grain state and logs: keep it off public networks.</summary>
    public string HttpAddress { get; set; } = "127.0.0.1";

    /// <summary>How often the silo checks that it is still listed in the membership table (see MembershipGuard).</summary>
    public TimeSpan MembershipCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The address the web host listens on; valid once <see cref="Validate"/> has passed.</summary>
    public string ListenUrl => $"http://{(System.Net.IPAddress.Parse(HttpAddress).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{HttpAddress}]" : HttpAddress)}:{HttpPort}";

    /// <summary>Throws naming the key of the first invalid value. <paramref name="environment"/> looks up the pod's variables (default: this process's).</summary>
    public void Validate(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (MembershipCheckInterval < TimeSpan.FromMilliseconds(100) || MembershipCheckInterval > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"{SectionName}:MembershipCheckInterval must be 100 ms .. 10 min (got {MembershipCheckInterval}).");
        }

        if (string.IsNullOrWhiteSpace(Redis))
        {
            throw new ArgumentException($"{SectionName}:Redis is required (a Redis connection string, e.g. localhost:6379).");
        }

        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(Redis);
        }
        catch (ArgumentException)
        {
            // The string may hold a password: name the key, not the value.
            throw new ArgumentException($"{SectionName}:Redis is not a Redis connection string (host:port[,password=...]).");
        }

        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535 || SiloPort == GatewayPort)
        {
            throw new ArgumentException($"{SectionName}:SiloPort and {SectionName}:GatewayPort must be distinct ports 1..65535.");
        }

        if (HttpPort is < 1 or > 65535 || HttpPort == SiloPort || HttpPort == GatewayPort)
        {
            throw new ArgumentException($"{SectionName}:HttpPort must be a port 1..65535 other than the silo and gateway ports (got {HttpPort}).");
        }

        if (!System.Net.IPAddress.TryParse(HttpAddress, out _))
        {
            throw new ArgumentException($"{SectionName}:HttpAddress must be an IP address (got '{HttpAddress}').");
        }

        if (Kubernetes)
        {
            var missing = PodVariables.Where(v => string.IsNullOrEmpty(environment(v))).ToArray();
            if (missing.Length > 0)
            {
                throw new ArgumentException($"{SectionName}:Kubernetes is set but the pod does not define {string.Join(", ", missing)} (the Helm chart sets them from the downward API).");
            }
        }
        else if (!System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
        {
            throw new ArgumentException($"{SectionName}:AdvertisedAddress must be an IP address (got '{AdvertisedAddress}').");
        }
    }
}
