using Icdiff.Corpora.FileSystem;
using Icdiff.Embedding.Onnx;
using Icdiff.Imaging.Skia;
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

    /// <summary>The silo services of an audit: decoder, ONNX embedder, folder corpora, the grains; Orleans' own logs at <paramref name="orleansLogLevel"/>.</summary>
    public static ISiloBuilder AddAuditSilo(this ISiloBuilder siloBuilder, LogLevel orleansLogLevel = LogLevel.Error)
    {
        siloBuilder.Services.AddSkiaImageDecoding().AddOnnxEmbedding().AddFileSystemCorpora();
        siloBuilder.Services.AddLogging(l => l.AddFilter("Orleans", orleansLogLevel));
        return siloBuilder.AddAuditGrains();
    }

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
