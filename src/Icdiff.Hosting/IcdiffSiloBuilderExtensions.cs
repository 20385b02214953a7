using Icdiff.Corpora.AzureBlob;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Grains.Index.Embedded;
using Icdiff.Grains.Index.Milvus;
using Icdiff.Grains.Index.Sharded;
using Icdiff.History.Sql;
using Icdiff.Imaging.Skia;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Icdiff.Hosting;

/// <summary>
/// The composition of an audit silo, in one place: the silo host, the CLI's embedded silo, the benchmark's silos and
/// the test clusters all call it, so none of them can register adapters in another order or forget one. A host adds
/// what differs between them: clustering, the run store, reminders, its web surface and its logging.
/// </summary>
public static class IcdiffSiloBuilderExtensions
{
    /// <summary>How long a grain call may take: a gallery pass or a shard of a large model on a CPU worker takes minutes.</summary>
    public static readonly TimeSpan GrainCallTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The audit grains, every gallery index backend, the SQL history store, the worker adapters and the default grain call timeout.</summary>
    public static ISiloBuilder AddIcdiffSilo(this ISiloBuilder silo)
    {
        silo.Services.AddIcdiffWorkerAdapters();
        // A default, not a setting: registered ahead of everything, so a host's (or a test's) own timeout wins
        // whether it is configured before or after this call.
        silo.Services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<SiloMessagingOptions>>(
            new ConfigureOptions<SiloMessagingOptions>(o => o.ResponseTimeout = GrainCallTimeout)));
        // SQLite under the silo's data directory, or PostgreSQL where Icdiff:History:Postgres names one.
        silo.Services.AddSqlRunHistory(sp => sp.GetRequiredService<IOptions<AuditSiloOptions>>().Value.DataDirectory);
        return silo.AddAuditGrains()
            .AddEmbeddedGalleryIndex()
            .AddShardedGalleryIndex()
            .AddMilvusGalleryIndex();
    }

    /// <summary>
    /// The adapters every worker needs, with or without a silo: decoder, ONNX models, corpora. Manifests and blob
    /// containers are registered before folders because the folder provider accepts any plain path.
    /// </summary>
    public static IServiceCollection AddIcdiffWorkerAdapters(this IServiceCollection services) =>
        services.AddSkiaImageDecoding().AddOnnxEmbedding().AddIcdiffCorpora();

    /// <summary>Every corpus kind, in the order the resolver must try them.</summary>
    public static IServiceCollection AddIcdiffCorpora(this IServiceCollection services) =>
        services.AddManifestCorpora().AddAzureBlobCorpora().AddFileSystemCorpora();
}
