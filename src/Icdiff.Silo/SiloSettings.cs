namespace Icdiff.Silo;

/// <summary>
/// Where the silo's web host will listen, for the dashboard's binding rules. The settings themselves are checked by
/// <see cref="SiloSettingsCheck"/> (at start and as <c>--check-config</c>).
/// </summary>
internal static class SiloSettings
{
    /// <summary>Where the web host will listen: Kestrel endpoints from the settings win over the silo's own address.</summary>
    public static string[] ListenUrls(IConfiguration configuration, string fallback) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToArray() is { Length: > 0 } endpoints ? endpoints : [fallback];
}
