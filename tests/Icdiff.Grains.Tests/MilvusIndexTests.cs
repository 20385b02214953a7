using Icdiff.Index.Milvus;

namespace Icdiff.Grains.Tests;

/// <summary>
/// The audit through the Milvus backend on a two-silo cluster, against the Milvus server named by MILVUS_URI (and
/// MILVUS_TOKEN where auth is on), beside a one-silo embedded cluster over the same corpus. Collections are FLAT, so
/// Milvus' candidates are exact and the audit must equal the embedded one; they are dropped afterwards.
/// </summary>
public sealed class MilvusIndexFixture : IAsyncLifetime
{
    internal static string? Uri { get; } = Environment.GetEnvironmentVariable("MILVUS_URI");

    internal static string Prefix { get; } = $"icdiff_test_{Guid.NewGuid():N}";

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-milvus-{Guid.NewGuid():N}");

    internal static string EmbeddedDataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-milvus-ref-{Guid.NewGuid():N}");

    public string? SkipReason { get; } = string.IsNullOrEmpty(Uri)
        ? "MILVUS_URI is not set: no Milvus server can be installed on this machine (no package, no Docker); set it to run the audit against one"
        : null;

    public TestCluster? Milvus { get; private set; }

    public TestCluster? Embedded { get; private set; }

    public DemoCorpus Corpus { get; private set; } = null!;

    internal static MilvusOptions Options() => new()
    {
        Uri = Uri,
        Token = Environment.GetEnvironmentVariable("MILVUS_TOKEN"),
        Collection = Prefix,
        IndexType = "FLAT",
        IndexParams = [],
        SearchParams = [],
    };

    public async ValueTask InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        Corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(31));
        Milvus = await TestClusters.DeployAsync<MilvusConfigurator>(2);
        Embedded = await TestClusters.DeployAsync<EmbeddedConfigurator>(1);
    }

    public async ValueTask DisposeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        await TestClusters.TearDownAsync(Embedded!, EmbeddedDataDirectory);
        await TestClusters.TearDownAsync(Milvus!, DataDirectory);
        var client = MilvusRestClient.Connect(Options());
        foreach (var name in (await client.ListCollectionsAsync(CancellationToken.None)).Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            await client.DropCollectionAsync(name, CancellationToken.None);
        }
    }

    private sealed class MilvusConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => ConfigureMilvusSilo(siloBuilder, DataDirectory, Options());
    }

    /// <summary>A silo of the Milvus backend with <paramref name="milvus"/>'s connection and collection settings.</summary>
    internal static void ConfigureMilvusSilo(ISiloBuilder siloBuilder, string dataDirectory, MilvusOptions milvus)
    {
        siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = dataDirectory);
        siloBuilder.Services.Configure<GalleryIndexOptions>(o => o.Kind = GalleryBackends.Milvus);
        siloBuilder.Services.Configure<MilvusOptions>(o =>
            (o.Uri, o.Token, o.Collection, o.IndexType, o.IndexParams, o.SearchParams) = (milvus.Uri, milvus.Token, milvus.Collection, milvus.IndexType, milvus.IndexParams, milvus.SearchParams));
        siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(60));
        siloBuilder.AddAuditSilo();
    }

    private sealed class EmbeddedConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = EmbeddedDataDirectory);
            siloBuilder.AddAuditSilo();
        }
    }
}

public sealed class MilvusIndexTests(MilvusIndexFixture fixture) : IClassFixture<MilvusIndexFixture>
{
    [Fact]
    public async Task MilvusAudit_GivesTheEmbeddedResult_AndAnUnchangedGalleryIsNotEmbeddedAgain()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? string.Empty);
        var request = fixture.Corpus.AuditOf(shardSize: 4);
        var expected = await ShardedIndexTests.AuditAsync(fixture.Embedded!, $"embedded-{Guid.NewGuid():N}", request, null);

        var runId = $"milvus-{Guid.NewGuid():N}";
        Assert.Equal(expected, await ShardedIndexTests.AuditAsync(fixture.Milvus!, runId, request, null));
        var first = await fixture.Milvus!.GrainFactory.GetGrain<IAuditRunGrain>(runId).GetStatusAsync();
        Assert.StartsWith($"{GalleryBackends.Milvus}, collections {MilvusIndexFixture.Prefix}_", first.GalleryIndex, StringComparison.Ordinal);

        var again = $"milvus-again-{Guid.NewGuid():N}";
        Assert.Equal(expected, await ShardedIndexTests.AuditAsync(fixture.Milvus!, again, request, null));
        Assert.Equal(0, (await fixture.Milvus!.GrainFactory.GetGrain<IAuditRunGrain>(again).GetStatusAsync()).GalleryEmbedded);
    }
}

/// <summary>
/// The Milvus backend's own code on a two-silo cluster against <see cref="FakeMilvusServer"/> (a stand-in for the REST
/// API: exact search, collections in memory), beside a one-silo embedded cluster: the same results, an unchanged
/// gallery not embedded again, and a removed gallery image's row deleted from the collection.
/// </summary>
public sealed class FakeMilvusFixture : IAsyncLifetime
{
    private static FakeMilvusServer? _server;

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-fake-milvus-{Guid.NewGuid():N}");

    internal static string EmbeddedDataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-fake-milvus-ref-{Guid.NewGuid():N}");

    internal const string Prefix = "icdiff_fake";

    internal static FakeMilvusServer Server => _server!;

    public TestCluster Milvus { get; private set; } = null!;

    public TestCluster Embedded { get; private set; } = null!;

    public DemoCorpus Corpus { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = new FakeMilvusServer();
        Corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(37));
        Milvus = await TestClusters.DeployAsync<FakeConfigurator>(2);
        Embedded = await TestClusters.DeployAsync<EmbeddedConfigurator>(1);
    }

    public async ValueTask DisposeAsync()
    {
        await TestClusters.TearDownAsync(Embedded, EmbeddedDataDirectory);
        await TestClusters.TearDownAsync(Milvus, DataDirectory);
        await Server.DisposeAsync();
    }

    private sealed class FakeConfigurator : ISiloConfigurator
    {
        // HNSW as in production: the fake searches exactly whatever the index type, and ef is raised to the limit.
        public void Configure(ISiloBuilder siloBuilder) =>
            MilvusIndexFixture.ConfigureMilvusSilo(siloBuilder, DataDirectory, new MilvusOptions { Uri = _server!.Uri, Collection = Prefix });
    }

    private sealed class EmbeddedConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = EmbeddedDataDirectory);
            siloBuilder.AddAuditSilo();
        }
    }
}

public sealed class FakeMilvusTests(FakeMilvusFixture fixture) : IClassFixture<FakeMilvusFixture>
{
    [Fact]
    public async Task MilvusBackend_GivesTheEmbeddedResult_EmbedsAnUnchangedGalleryOnce_AndDeletesARemovedImagesRow()
    {
        var request = fixture.Corpus.AuditOf(shardSize: 4);
        var expected = await ShardedIndexTests.AuditAsync(fixture.Embedded, $"embedded-{Guid.NewGuid():N}", request, null);

        var first = $"milvus-{Guid.NewGuid():N}";
        Assert.Equal(expected, await ShardedIndexTests.AuditAsync(fixture.Milvus, first, request, null));
        var status = await fixture.Milvus.GrainFactory.GetGrain<IAuditRunGrain>(first).GetStatusAsync();
        var galleryImages = Directory.GetFiles(fixture.Corpus.GalleryPath).Length;
        var collection = Assert.Single(FakeMilvusFixture.Server.RowCounts(FakeMilvusFixture.Prefix));
        Assert.Equal(galleryImages - status.GallerySkipped.Count, collection.Value);
        Assert.True(status.GalleryEmbedded > 0, "the first run embedded no gallery image");
        // Both silos searched: the scan's batches went to each of them (the dispatcher spreads them), each asking Milvus.
        Assert.Equal(2, status.Workers!.Count(w => w.ScannedItems > 0));

        var again = $"milvus-again-{Guid.NewGuid():N}";
        Assert.Equal(expected, await ShardedIndexTests.AuditAsync(fixture.Milvus, again, request, null));
        Assert.Equal(0, (await fixture.Milvus.GrainFactory.GetGrain<IAuditRunGrain>(again).GetStatusAsync()).GalleryEmbedded);

        // An image gone from the gallery is gone from the collection after the next pass, and the results follow.
        var removed = Directory.GetFiles(fixture.Corpus.GalleryPath).Order(StringComparer.Ordinal).First();
        File.Delete(removed);
        var expectedAfter = await ShardedIndexTests.AuditAsync(fixture.Embedded, $"embedded-after-{Guid.NewGuid():N}", request, null);
        Assert.Equal(expectedAfter, await ShardedIndexTests.AuditAsync(fixture.Milvus, $"milvus-after-{Guid.NewGuid():N}", request, null));
        Assert.Equal(collection.Value - 1, FakeMilvusFixture.Server.RowCounts(FakeMilvusFixture.Prefix)[collection.Key]);
    }
}
