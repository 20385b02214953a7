using Icdiff.Core;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Grains.Index.Milvus;
using Icdiff.History;
using Icdiff.Imaging.Skia;
using Icdiff.Index.Milvus;
using Icdiff.Pipeline;
using Microsoft.Extensions.Configuration;

namespace Icdiff.Cli;

/// <summary>
/// Every setting the CLI's silo and workers read, parsed and checked before anything starts: a bad value is one line
/// naming its key (all of them at once) and exit code 2, never a run that fails later or a stack trace.
/// </summary>
internal static class CliSettings
{
    private static readonly SettingsSection[] Sections =
    [
        SettingsSection.Listing<DecoderOptions>(DecoderOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<PipelineOptions>(PipelineOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<AuditSiloOptions>(AuditSiloOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<GalleryIndexOptions>(GalleryIndexOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<OnnxOptions>(OnnxOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<BlobCorporaOptions>(BlobCorporaOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<HistoryOptions>(HistoryOptions.SectionName, o => o.Problems()),
        SettingsSection.Listing<SchedulingOptions>(SchedulingOptions.SectionName, o => o.Problems()),
        // Values are parsed here; their rules apply only with Icdiff:Index:Kind=milvus (below).
        SettingsSection.Listing<MilvusOptions>(MilvusOptions.SectionName, _ => []),
    ];

    /// <summary>Throws a <see cref="CliError"/> listing every bad setting, one per line.</summary>
    public static void Check(IConfiguration configuration)
    {
        var problems = SettingsCheck.Problems(configuration.AsEnumerable(), Sections, (s, parsed) => new ConfigurationBuilder().AddInMemoryCollection(parsed).Build().GetSection(s.Name).Get(s.Type)).ToList();
        if (problems.Count == 0 && MilvusStartupCheck.Problem(configuration) is { } milvus)
        {
            problems.Add(milvus);
        }

        if (problems.Count > 0)
        {
            throw new CliError(string.Join('\n', problems));
        }
    }

    /// <summary>The settings of the environment alone (commands without a settings file).</summary>
    public static void CheckEnvironment() => Check(new ConfigurationBuilder().AddEnvironmentVariables().Build());
}
