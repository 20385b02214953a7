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
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
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
