using Microsoft.Extensions.Configuration.Memory;

namespace Icdiff.Silo;

/// <summary>
/// The log levels a silo starts from. They are added as the first (lowest-priority) configuration source, so
/// appsettings.json, <c>Logging__LogLevel__&lt;category&gt;</c> variables and the command line override each of them;
/// a filter added in code would win over configuration instead.
/// </summary>
public static class SiloLogLevels
{
    public static IReadOnlyDictionary<string, string?> Defaults { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
    {
        // ASP.NET Core writes several lines per request at Information (hosting, routing, results): probes, scrapers
        // and dashboard reloads buried the silo's own log (about 250 lines at start). Warnings and errors still show.
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // Every silo start logs a spurious Watchdog warning.
        ["Logging:LogLevel:Orleans.Runtime.Watchdog"] = "Error",
    };

    public static void AddTo(IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
    }
}
