using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Pipeline;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>Registers the process-wide worker pipeline; options come from <see cref="PipelineOptions.SectionName"/>.</summary>
    public static IServiceCollection AddImagePipeline(this IServiceCollection services)
    {
        services.AddOptions<PipelineOptions>()
            .BindConfiguration(PipelineOptions.SectionName)
            .ValidateAllProblemsOnStart();
        services.TryAddSingleton(sp => new ImagePipeline(
            sp.GetRequiredService<IImageDecoder>(),
            sp.GetRequiredService<IOptions<PipelineOptions>>().Value,
            sp.GetRequiredService<ILogger<ImagePipeline>>()));
        services.TryAddSingleton<CorpusSourceResolver>();
        return services;
    }
}
