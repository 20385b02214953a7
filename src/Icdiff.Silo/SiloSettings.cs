using Icdiff.Core;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Dashboard;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.History;
using Icdiff.Imaging.Skia;
using Icdiff.Pipeline;

namespace Icdiff.Silo;

/// <summary>
/// Every setting the silo reads, parsed and checked before it starts: one line per bad key, all at once, then exit 2.
/// Without this a value that does not parse ends the start in a stack trace, and a limit out of range fails runs later.
/// </summary>
internal static class SiloSettings
{
    private static readonly SettingsSection[] Sections =
    [
        SettingsSection.Throwing<IcdiffClusterOptions>(IcdiffClusterOptions.SectionName, o => o.Validate()),
        SettingsSection.Listing<DecoderOptions>(DecoderOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<PipelineOptions>(PipelineOptions.SectionName, o => o.Problems()),
        SettingsSection.Throwing<AuditSiloOptions>(AuditSiloOptions.SectionName, o => o.Validate()),
        SettingsSection.Throwing<OnnxOptions>(OnnxOptions.SectionName, o => o.Validate()),
        SettingsSection.Throwing<BlobCorporaOptions>(BlobCorporaOptions.SectionName, o => o.Validate()),
        SettingsSection.Throwing<HistoryOptions>(HistoryOptions.SectionName, o => o.Validate()),
        SettingsSection.Throwing<SchedulingOptions>(SchedulingOptions.SectionName, o => o.Validate()),
        SettingsSection.Listing<IcdiffDashboardOptions>(IcdiffDashboardOptions.SectionName, o => o.Problems()),
    ];

    /// <summary>Where the web host will listen: Kestrel endpoints from the settings win over the silo's own address.</summary>
    public static string[] ListenUrls(IConfiguration configuration, string fallback) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToArray() is { Length: > 0 } endpoints ? endpoints : [fallback];

    /// <summary>Every problem, one message each (empty when the settings are good).</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration) =>
        SettingsCheck.Problems(configuration.AsEnumerable(), Sections, (s, parsed) => new ConfigurationBuilder().AddInMemoryCollection(parsed).Build().GetSection(s.Name).Get(s.Type));
}
