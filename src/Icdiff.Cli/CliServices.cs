using Icdiff.Core;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;
using Icdiff.Embedding.Onnx;
using Icdiff.Imaging.Skia;
using Icdiff.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Icdiff.Cli;

/// <summary>Service graphs for commands that need the worker pipeline without a silo (calibration, evaluation).</summary>
internal static class CliServices
{
    /// <param name="overrides">Settings that win over the environment (the benchmark's stage layouts).</param>
    public static ServiceProvider CreateWorkerServices(IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(overrides ?? []).Build();
        CliSettings.Check(configuration);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning))
            .AddWorkerAdapters()
            .AddImagePipeline();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>
    /// The adapters every worker needs, with or without a silo: decoder, ONNX models, corpora. Manifests and blob
    /// containers are registered before folders because the folder provider accepts any plain path.
    /// </summary>
    public static IServiceCollection AddWorkerAdapters(this IServiceCollection services) =>
        services.AddSkiaImageDecoding().AddOnnxEmbedding().AddCorpora();

    public static IServiceCollection AddCorpora(this IServiceCollection services) =>
        services.AddManifestCorpora().AddAzureBlobCorpora().AddFileSystemCorpora();

    /// <summary>A resolver over every corpus kind, configured from the environment as the silo is.</summary>
    public static CorpusSourceResolver CreateCorpusResolver()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddCorpora();
        services.AddSingleton<CorpusSourceResolver>();
        var provider = services.BuildServiceProvider();
        try
        {
            return provider.GetRequiredService<CorpusSourceResolver>();
        }
        catch (ArgumentException ex)
        {
            throw new CliError(ex.Message, ex);
        }
    }
}
