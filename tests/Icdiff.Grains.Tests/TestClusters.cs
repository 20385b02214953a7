using Icdiff.Hosting;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Tests;

/// <summary>What every in-process audit cluster of these tests shares: the real adapters and grains, and its clean-up.</summary>
internal static class TestClusters
{
    public static async Task<TestCluster> DeployAsync<TConfigurator>(int silos)
        where TConfigurator : ISiloConfigurator, new()
    {
        var builder = new TestClusterBuilder { Options = { InitialSilosCount = (short)silos } };
        builder.AddSiloBuilderConfigurator<TConfigurator>();
        builder.AddClientBuilderConfigurator<FastManifestRefresh>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        await WaitForCoordinatorAsync(cluster);
        return cluster;
    }

    /// <summary>
    /// Waits until the test client's manifest has a silo hosting the run grain, as the CLI's cluster connection does:
    /// a client that joined through a worker-only silo which had not yet learnt of the coordinator cannot resolve it.
    /// </summary>
    private static async Task WaitForCoordinatorAsync(TestCluster cluster)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                // Resolving a reference makes no call: it only checks that some silo of the cluster implements the grain.
                _ = cluster.GrainFactory.GetGrain<IAuditRunGrain>("probe");
                return;
            }
            catch (ArgumentException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>The client refreshes its view of which silo hosts which grain every second instead of every minute.</summary>
    private sealed class FastManifestRefresh : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.Configure<Orleans.Configuration.TypeManagementOptions>(o => o.TypeMapRefreshInterval = TimeSpan.FromSeconds(1));
    }

    /// <summary>The silo composition every host uses (<see cref="IcdiffSiloBuilderExtensions.AddIcdiffSilo"/>); Orleans' own logs at <paramref name="orleansLogLevel"/>.</summary>
    public static ISiloBuilder AddAuditSilo(this ISiloBuilder siloBuilder, LogLevel orleansLogLevel = LogLevel.Error)
    {
        siloBuilder.Services.AddLogging(l => l.AddFilter("Orleans", orleansLogLevel));
        return siloBuilder.AddIcdiffSilo();
    }

    /// <summary>
    /// The silo composition with the data directory in <paramref name="dataDirectory"/>, the primary silo declaring only
    /// the coordinator role and every other silo only the worker role (as a CPU coordinator beside GPU workers), and
    /// the fixture's own settings from <paramref name="configure"/>.
    /// </summary>
    public static ISiloBuilder AddRoleSplitAuditSilo(this ISiloBuilder siloBuilder, string dataDirectory, Action<AuditSiloOptions> configure)
    {
        siloBuilder.Services.AddOptions<AuditSiloOptions>().PostConfigure<IOptions<SiloOptions>>((o, silo) =>
        {
            o.DataDirectory = dataDirectory;
            o.Roles = silo.Value.SiloName == "Primary" ? SiloRoles.Coordinator : SiloRoles.Worker;
            configure(o);
        });
        return siloBuilder.AddAuditSilo();
    }

    /// <summary>An audit of every model corpus of a demo corpus against its gallery, with the built-in model and the default criterion.</summary>
    public static AuditRequest AuditOf(this DemoCorpus corpus, int shardSize) => new(
        corpus.GalleryPath,
        [.. corpus.Spec.Models.Select(m => new ModelCorpus(m.Name, corpus.ModelPaths[m.Name]))],
        "builtin",
        ReplicaCriterion.DefaultMinLevel,
        ReplicaCriterion.DefaultCandidates,
        shardSize);

    public static async Task TearDownAsync(TestCluster cluster, string dataDirectory)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Temp files; the OS cleans up what a busy file system keeps.
        }
    }
}

/// <summary>
/// A fixture owning one audit cluster over a small demo corpus, both in <paramref name="dataDirectory"/> and removed
/// together. The directory is the derived fixture's static, for its silos' configurator (which Orleans creates) reads it.
/// </summary>
public abstract class DemoClusterFixture(string dataDirectory, int corpusSeed) : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public DemoCorpus Corpus { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Corpus = DemoCorpusBuilder.Build(Path.Combine(dataDirectory, "corpus"), DemoCorpusSpec.Small(corpusSeed));
        await PrepareAsync();
        Cluster = await DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>What the fixture adds to its data directory once the corpus is there and before the cluster starts.</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>Starts the cluster: <see cref="TestClusters.DeployAsync{TConfigurator}"/> with the fixture's configurator.</summary>
    protected abstract Task<TestCluster> DeployAsync();

    /// <summary>Stops the cluster and removes the data directory (the async dispose pattern: a fixture that must let something go first overrides it).</summary>
    protected virtual async ValueTask DisposeAsyncCore() => await TestClusters.TearDownAsync(Cluster, dataDirectory);
}
