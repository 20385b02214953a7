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
        // Hosts with a shared store (Redis in a cluster) register theirs first; the default keeps runs under the data directory.
        silo.Services.TryAddSingleton<IRunStore>(sp => new FileRunStore(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuditSiloOptions>>().Value.DataDirectory));
        return silo;
    }
}
