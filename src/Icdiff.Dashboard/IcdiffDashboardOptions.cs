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

    /// <summary>Throws when the host listens beyond loopback without a key: the dashboard shows file names and images.</summary>
    public void Validate(IEnumerable<string> listenUrls)
    {
        if (RefreshSeconds is < 1 or > 3600)
        {
            throw new ArgumentException($"{SectionName}:RefreshSeconds must be 1..3600 (got {RefreshSeconds}).");
        }

        var exposed = listenUrls.Where(u => !IsLoopback(u)).ToList();
        if (exposed.Count > 0 && string.IsNullOrEmpty(ApiKey))
        {
            throw new ArgumentException($"the dashboard listens on {string.Join(", ", exposed)}, beyond loopback: set {SectionName}:ApiKey (Icdiff__Dashboard__ApiKey) or bind to 127.0.0.1.");
        }

        if (!string.IsNullOrEmpty(ApiKey) && ApiKey.Length < 16)
        {
            throw new ArgumentException($"{SectionName}:ApiKey must be at least 16 characters.");
        }
    }

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
