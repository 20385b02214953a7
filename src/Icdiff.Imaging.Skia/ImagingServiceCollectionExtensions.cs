using Icdiff.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Imaging.Skia;

public static class ImagingServiceCollectionExtensions
{
    /// <summary>Registers the SkiaSharp decoder; options come from <see cref="DecoderOptions.SectionName"/>.</summary>
    public static IServiceCollection AddSkiaImageDecoding(this IServiceCollection services)
    {
        // Validated when the host starts, not when the first image is decoded: a bad limit must stop the start, not fail a run.
        services.AddOptions<DecoderOptions>()
            .BindConfiguration(DecoderOptions.SectionName)
            .ValidateAllProblemsOnStart();
        services.TryAddSingleton<IImageDecoder>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DecoderOptions>>().Value;
            options.Validate();
            return new SkiaImageDecoder(options);
        });
        return services;
    }
}
