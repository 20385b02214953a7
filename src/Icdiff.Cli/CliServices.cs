using Icdiff.Corpora.FileSystem;
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
    public static ServiceProvider CreateWorkerServices()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning))
            .AddWorkerAdapters()
            .AddImagePipeline();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>The adapters every worker needs, with or without a silo: decoder, ONNX models, folder corpora.</summary>
    public static IServiceCollection AddWorkerAdapters(this IServiceCollection services) =>
        services.AddSkiaImageDecoding().AddOnnxEmbedding().AddFileSystemCorpora();
}
