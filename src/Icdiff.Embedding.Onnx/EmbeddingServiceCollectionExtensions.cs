using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Icdiff.Embedding.Onnx;

public static class EmbeddingServiceCollectionExtensions
{
    /// <summary>Registers the ONNX Runtime model catalog; options come from <see cref="OnnxOptions.SectionName"/>.</summary>
    public static IServiceCollection AddOnnxEmbedding(this IServiceCollection services)
    {
        services.AddOptions<OnnxOptions>()
            .BindConfiguration(OnnxOptions.SectionName)
            .ValidateAllProblemsOnStart();
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<IEmbedderProvider>(sp => sp.GetRequiredService<ModelCatalog>());
        return services;
    }
}
