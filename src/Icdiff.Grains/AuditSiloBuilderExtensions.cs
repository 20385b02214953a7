using Icdiff.Core;
using Icdiff.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Icdiff.Grains;

public static class AuditSiloBuilderExtensions
{
    /// <summary>
    /// Registers what the audit grains need on a silo besides the adapters (decoder, embedder provider, corpus
    /// providers), which the host adds with their own AddXxx calls.
    /// </summary>
    public static ISiloBuilder AddAuditGrains(this ISiloBuilder silo)
    {
        silo.Services.AddOptions<AuditSiloOptions>()
            .BindConfiguration(AuditSiloOptions.SectionName)
            .Validate(o => { o.Validate(); return true; })
            .ValidateOnStart();
        silo.Services.AddImagePipeline();
        silo.Services.TryAddSingleton<GalleryIndexCache>();
        silo.Services.TryAddSingleton<CorpusSourceResolver>();
        return silo;
    }
}
