using System.Globalization;

namespace Icdiff.Grains.Tests;

/// <summary>
/// Two clusters over one demo corpus: three silos searching a sharded gallery index (five partitions over the
/// silos), and one silo with the embedded index, whose results the sharded ones must equal.
/// </summary>
public sealed class ShardedIndexFixture : IAsyncLifetime
{
    internal const int Partitions = 5;

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-sharded-{Guid.NewGuid():N}");

    internal static string EmbeddedDataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-sharded-ref-{Guid.NewGuid():N}");

    public TestCluster Sharded { get; private set; } = null!;

    public TestCluster Embedded { get; private set; } = null!;

    public DemoCorpus Corpus { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(29));
        Sharded = await TestClusters.DeployAsync<ShardedConfigurator>(3);
        Embedded = await TestClusters.DeployAsync<EmbeddedConfigurator>(1);
    }

    public async ValueTask DisposeAsync()
    {
        await TestClusters.TearDownAsync(Embedded, EmbeddedDataDirectory);
        await TestClusters.TearDownAsync(Sharded, DataDirectory);
    }

    private sealed class ShardedConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o =>
            {
                o.DataDirectory = DataDirectory;
                o.ShardAttempts = 10;
            });
            siloBuilder.Services.Configure<GalleryIndexOptions>(o =>
            {
                o.Kind = GalleryBackends.Sharded;
                o.Partitions = Partitions;
            });
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
            siloBuilder.AddAuditSilo();
        }
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

public sealed class ShardedIndexTests(ShardedIndexFixture fixture) : IClassFixture<ShardedIndexFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);

    private AuditRequest Request() => fixture.Corpus.AuditOf(shardSize: 4);

    [Fact]
    public async Task ShardedAudit_GivesExactlyTheEmbeddedResult_WithPartitionsSpreadOverTheSilos()
    {
        var request = Request();
        var expected = await AuditAsync(fixture.Embedded, $"embedded-{Guid.NewGuid():N}", request, null);

        var runId = $"sharded-{Guid.NewGuid():N}";
        var actual = await AuditAsync(fixture.Sharded, runId, request, null);

        Assert.Equal(expected, actual);
        Assert.Equal($"sharded, {ShardedIndexFixture.Partitions} partitions", (await fixture.Sharded.GrainFactory.GetGrain<IAuditRunGrain>(runId).GetStatusAsync()).GalleryIndex);
        var statistics = await fixture.Sharded.GrainFactory.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics(TestContext.Current.CancellationToken);
        var partitions = statistics.Where(s => s.GrainType.Contains("GalleryPartitionGrain", StringComparison.Ordinal) && s.ActivationCount > 0).ToList();
        Assert.Equal(ShardedIndexFixture.Partitions, partitions.Sum(s => s.ActivationCount));
        Assert.True(partitions.Select(s => s.SiloAddress).Distinct().Count() >= 2, $"every partition is on one silo: {string.Join(", ", partitions.Select(p => p.SiloAddress))}");
        Assert.DoesNotContain(statistics, s => s.GrainType.EndsWith(".GalleryIndexGrain", StringComparison.Ordinal) && s.ActivationCount > 0);
        // No silo holds the whole gallery: each partition file holds only its share of the entries.
        var files = Directory.EnumerateFiles(Path.Combine(ShardedIndexFixture.DataDirectory, "galleries"), "index-*.bin", SearchOption.AllDirectories).ToList();
        Assert.Equal(ShardedIndexFixture.Partitions, files.Select(Path.GetDirectoryName).Distinct().Count());
    }

    [Fact]
    public async Task ShardedAudit_WithASiloHoldingPartitionsKilledMidRun_GivesTheSameResult()
    {
        var request = Request();
        var expected = await AuditAsync(fixture.Embedded, $"embedded-{Guid.NewGuid():N}", request, null);
        // A first run builds the index, so that the second one searches partitions from the start.
        await AuditAsync(fixture.Sharded, $"warm-{Guid.NewGuid():N}", request, null);

        var killed = false;
        var actual = await AuditAsync(fixture.Sharded, $"killed-{Guid.NewGuid():N}", request, async status =>
        {
            if (killed || status.State != RunState.Scanning || status.Models.Sum(m => m.Done) < 10)
            {
                return;
            }

            var statistics = await fixture.Sharded.GrainFactory.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
            var holders = statistics.Where(s => s.GrainType.Contains("GalleryPartitionGrain", StringComparison.Ordinal) && s.ActivationCount > 0).Select(s => s.SiloAddress).ToHashSet();
            var victim = fixture.Sharded.SecondarySilos.FirstOrDefault(s => holders.Contains(s.SiloAddress));
            Assert.NotNull(victim);
            await fixture.Sharded.KillSiloAsync(victim);
            killed = true;
        });

        Assert.True(killed, "the run finished before a silo could be killed; the test proves nothing");
        Assert.Equal(expected, actual);
        await fixture.Sharded.StartAdditionalSiloAsync();
    }

    /// <summary>The run's whole result: each model's summary and every match with its exact cosine (bits) and stamps.</summary>
    internal static async Task<string> AuditAsync(TestCluster cluster, string runId, AuditRequest request, Func<RunStatus, Task>? onProgress)
    {
        var run = cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        await run.StartAsync(request);
        using var timeout = new CancellationTokenSource(RunTimeout);
        RunStatus status;
        var seen = -1L;
        while (true)
        {
            try
            {
                // Answered as soon as the status changes; a run re-activated after a silo loss answers at once.
                timeout.Token.ThrowIfCancellationRequested();
                status = await cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId).WaitForChangeAsync(seen, TimeSpan.FromSeconds(5));
                seen = status.Revision;
            }
            catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                await Task.Delay(200, timeout.Token);
                continue;
            }

            if (status.IsFinished)
            {
                break;
            }

            if (onProgress is not null)
            {
                await onProgress(status);
            }
        }

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        var lines = new List<string>();
        foreach (var model in request.Generated)
        {
            var aggregate = cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, model.Model));
            var s = await aggregate.GetSummaryAsync(request.MinLevel);
            lines.Add($"{s.Model} scanned {s.Scanned} replicas {s.Replicas} skipped {s.Skipped} levels {string.Join('/', s.LevelHistogram)}");
            lines.AddRange((await aggregate.GetAllMatchesAsync()).Select(m => string.Create(CultureInfo.InvariantCulture,
                $"{m.Key} -> {m.GalleryKey} {m.Level} {BitConverter.SingleToInt32Bits(m.Similarity):X8} {m.GalleryStamp} alt {m.AltGalleryKey} {m.AltLevel}")).Order(StringComparer.Ordinal));
        }

        Assert.True(lines.Count > request.Generated.Count, "no matches were recorded; the comparison proves nothing");
        return string.Join('\n', lines);
    }
}
