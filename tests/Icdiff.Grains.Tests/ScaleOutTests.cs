namespace Icdiff.Grains.Tests;

/// <summary>
/// One coordinator-only silo and three worker-only silos, as a CPU coordinator beside GPU workers would be. The
/// generated corpus is the small demo corpus's model folder copied many times over (the images are what the pipeline
/// decodes and embeds; only the amount of work matters here).
/// </summary>
public sealed class ScaleOutFixture() : DemoClusterFixture(DataDirectory, 41)
{
    internal const int Copies = 16;

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-scaleout-{Guid.NewGuid():N}");

    public string Generated { get; private set; } = null!;

    public int GeneratedCount { get; private set; }

    protected override Task PrepareAsync()
    {
        Generated = Path.Combine(DataDirectory, "generated");
        var source = Corpus.ModelPaths["model-a"];
        for (var copy = 0; copy < Copies; copy++)
        {
            var folder = Directory.CreateDirectory(Path.Combine(Generated, $"copy-{copy:D2}")).FullName;
            foreach (var file in Directory.EnumerateFiles(source))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }
        }

        GeneratedCount = Directory.EnumerateFiles(Generated, "*", SearchOption.AllDirectories).Count();
        return Task.CompletedTask;
    }

    protected override Task<TestCluster> DeployAsync() => TestClusters.DeployAsync<Configurator>(4);

    private sealed class Configurator : ISiloConfigurator
    {
        // Two shards at a time per worker: the run lasts long enough for a silo to join mid-way, and the
        // dispatcher, not a deep queue on one silo, decides where each shard goes.
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddRoleSplitAuditSilo(DataDirectory, o => o.MaxShardsInFlight = 2);
    }
}

public sealed class ScaleOutTests(ScaleOutFixture fixture) : IClassFixture<ScaleOutFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);

    private AuditRequest Request() => new(
        fixture.Corpus.GalleryPath,
        [new ModelCorpus("many", fixture.Generated)],
        "builtin",
        ReplicaCriterion.DefaultMinLevel,
        ReplicaCriterion.DefaultCandidates,
        8);

    [Fact]
    public async Task Run_SpreadsShardsOverEveryWorkerSilo_AndAWorkerThatJoinsMidRunTakesSomeOfTheRest()
    {
        var token = TestContext.Current.CancellationToken;
        var primary = fixture.Cluster.Primary!.SiloAddress.ToParsableString();
        var first = fixture.Cluster.Silos.Where(s => s.SiloAddress.ToParsableString() != primary).Select(s => s.SiloAddress.ToParsableString()).ToHashSet();
        Assert.Equal(3, first.Count);

        // 1. A whole run on the three workers: each scans its share.
        var whole = await RunToEndAsync($"spread-{Guid.NewGuid():N}", null, token);
        var shares = whole.Workers!.ToDictionary(w => w.Silo, w => w.ScannedItems);
        var report = string.Join(", ", whole.Workers!.Select(w => $"{w.Silo}={w.ScannedItems}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"whole run: {report}");
        Assert.Equal(fixture.GeneratedCount, shares.Values.Sum());
        Assert.Equal(first, shares.Keys.ToHashSet());
        Assert.All(shares.Values, items => Assert.InRange(items / (double)fixture.GeneratedCount, 0.20, 0.47));
        // The shares are where the work was done: worker activations live on worker silos only, and on each of them.
        var statistics = await fixture.Cluster.GrainFactory.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics(token);
        var workerSilos = statistics.Where(s => s.GrainType.Contains("WorkerGrain", StringComparison.Ordinal) && s.ActivationCount > 0).Select(s => s.SiloAddress.ToParsableString()).ToHashSet();
        Assert.Equal(first, workerSilos);

        // 2. A fourth worker joins once a tenth of a second run is done: it takes some of the rest.
        string? joined = null;
        var second = await RunToEndAsync($"join-{Guid.NewGuid():N}", async status =>
        {
            if (joined is null && status.Models.Sum(m => m.Done) >= fixture.GeneratedCount / 10)
            {
                joined = (await fixture.Cluster.StartAdditionalSiloAsync()).SiloAddress.ToParsableString();
            }
        }, token);
        Assert.NotNull(joined);
        var after = second.Workers!.ToDictionary(w => w.Silo, w => w.ScannedItems);
        TestContext.Current.TestOutputHelper?.WriteLine($"with a silo joining: {string.Join(", ", second.Workers!.Select(w => $"{w.Silo}={w.ScannedItems}"))}");
        Assert.Equal(fixture.GeneratedCount, after.Values.Sum());
        Assert.True(after.GetValueOrDefault(joined) > 0, $"the silo that joined ({joined}) scanned nothing: {string.Join(", ", after)}");
        Assert.All(first, silo => Assert.True(after.GetValueOrDefault(silo) > 0, $"{silo} scanned nothing"));
    }

    private async Task<RunStatus> RunToEndAsync(string runId, Func<RunStatus, Task>? onProgress, CancellationToken token)
    {
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.StartAsync(Request());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(RunTimeout);
        while (!status.IsFinished)
        {
            if (onProgress is not null)
            {
                await onProgress(status);
            }

            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(fixture.GeneratedCount, status.Models.Sum(m => m.Done));
        return status;
    }
}
