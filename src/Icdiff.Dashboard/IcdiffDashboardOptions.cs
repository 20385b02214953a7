using System.Net;

namespace Icdiff.Dashboard;

/// <summary>Access to the dashboard. Bound from <see cref="SectionName"/>.</summary>
public sealed class IcdiffDashboardOptions
{
    public const string SectionName = "Icdiff:Dashboard";

    /// <summary>
    /// The key every request must carry when the web host listens beyond loopback (header <c>X-Api-Key</c>, or
    /// <c>Authorization: Bearer</c>; a browser may open <c>?key=</c> once and keeps it in a cookie).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Seconds between reloads of a page that shows a running audit.</summary>
    public int RefreshSeconds { get; set; } = 5;

    /// <summary>
    /// Host names (the request's <c>Host</c> header, without the port) the dashboard answers besides the loopback names
    /// (localhost, 127.0.0.1, [::1]). A keyless dashboard answers only loopback names unless this adds others, which
    /// keeps a DNS-rebinding page (its own name resolved to 127.0.0.1) out; when set, every request is checked.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Thumbnails decoded at once (0: half the cores, at least one); requests beyond wait for a slot.</summary>
    public int ThumbnailDecodes { get; set; }

    /// <summary>Time a thumbnail may take to wait for a slot, read and decode; past it the request is answered 503.</summary>
    public TimeSpan ThumbnailTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes of encoded thumbnails kept in memory.</summary>
    public long ThumbnailCacheBytes { get; set; } = 64L * 1024 * 1024;

    public int EffectiveThumbnailDecodes => ThumbnailDecodes > 0 ? ThumbnailDecodes : Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Throws when the host listens beyond loopback without a key: the dashboard shows file names and images.</summary>
    public void Validate(IEnumerable<string> listenUrls)
    {
        var problems = Problems().ToList();
        var exposed = listenUrls.Where(u => !IsLoopback(u)).ToList();
        if (exposed.Count > 0 && ApiKey is null)
        {
            problems.Add($"the dashboard listens on {string.Join(", ", exposed)}, beyond loopback: set {SectionName}:ApiKey (Icdiff__Dashboard__ApiKey) or bind to 127.0.0.1.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems));
        }
    }

    /// <summary>One message per bad setting, naming its key (never the key's value).</summary>
    public IEnumerable<string> Problems()
    {
        if (RefreshSeconds is < 1 or > 3600)
        {
            yield return $"{SectionName}:RefreshSeconds must be 1..3600 (got {RefreshSeconds}).";
        }

        if (ThumbnailDecodes is < 0 or > 256)
        {
            yield return $"{SectionName}:ThumbnailDecodes must be 0..256 (got {ThumbnailDecodes}).";
        }

        if (ThumbnailTimeout <= TimeSpan.Zero || ThumbnailTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"{SectionName}:ThumbnailTimeout must be more than 0 and at most 10 minutes (got {ThumbnailTimeout}).";
        }

        if (ThumbnailCacheBytes is < 1 or > 1L << 34)
        {
            yield return $"{SectionName}:ThumbnailCacheBytes must be 1..17179869184 (got {ThumbnailCacheBytes}).";
        }

        // A key set but blank (an empty secret, a stray space) would otherwise read as "no key" or as a key anyone can guess.
        if (ApiKey is not null && string.IsNullOrWhiteSpace(ApiKey))
        {
            yield return $"{SectionName}:ApiKey is blank; set a key of at least 16 characters, or leave the setting out on loopback.";
        }
        else if (ApiKey is not null && ApiKey.Trim().Length < 16)
        {
            yield return $"{SectionName}:ApiKey must be at least 16 characters.";
        }

        foreach (var host in AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
            {
                yield return $"{SectionName}:AllowedHosts holds '{host}', which is not a host name or address.";
            }
        }
    }

    /// <summary>Whether a request's host name may be answered: loopback names always, configured names too.</summary>
    public bool AllowsHost(string host) =>
        IsLoopbackName(host) || AllowedHosts.Any(h => string.Equals(h.Trim('[', ']'), host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase));

    private static bool IsLoopbackName(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>Whether a listen address (http://host:port) is reachable only from this machine.</summary>
    public static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
    }
}
