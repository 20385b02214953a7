using Icdiff.Core;
using Icdiff.Hosting;
using Icdiff.Synthesis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;

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
