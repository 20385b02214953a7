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
        services.AddOptions<DecoderOptions>().BindConfiguration(DecoderOptions.SectionName);
        services.TryAddSingleton<IImageDecoder>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DecoderOptions>>().Value;
            options.Validate();
            return new SkiaImageDecoder(options);
        });
        return services;
    }
}
