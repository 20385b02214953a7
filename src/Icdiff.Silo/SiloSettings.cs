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

    /// <summary>Every problem, one message each (empty when the settings are good).</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration) =>
        SettingsCheck.Problems(configuration.AsEnumerable(), Sections, s => configuration.GetSection(s.Name).Get(s.Type));
}
