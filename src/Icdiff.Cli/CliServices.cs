using Icdiff.Core;
using Icdiff.Hosting;
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
            .AddIcdiffWorkerAdapters()
            .AddImagePipeline();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>A resolver over every corpus kind, configured from the environment as the silo is.</summary>
    public static CorpusSourceResolver CreateCorpusResolver()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddIcdiffCorpora();
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
