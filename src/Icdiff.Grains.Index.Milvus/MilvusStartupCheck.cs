using Icdiff.Index.Milvus;
using Microsoft.Extensions.Configuration;

namespace Icdiff.Grains.Index.Milvus;

/// <summary>
/// The hosts' start-up checks of the Milvus backend: its settings matter only where <c>Icdiff:Index:Kind</c> is
/// <c>milvus</c>, and there the server must answer before anything starts, so an audit never fails halfway through
/// its gallery pass on a wrong address. Each problem is one line naming its key; the token never appears.
/// </summary>
public static class MilvusStartupCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    public static bool Needed(IConfiguration configuration) =>
        (configuration.GetSection(GalleryIndexOptions.SectionName).Get<GalleryIndexOptions>() ?? new GalleryIndexOptions()).IsMilvus;

    /// <summary>The Milvus settings' problem where the backend needs them, or null.</summary>
    public static string? Problem(IConfiguration configuration)
    {
        if (!Needed(configuration))
        {
            return null;
        }

        try
        {
            Options(configuration).Validate();
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return ex is ArgumentException ? ex.Message : $"{MilvusOptions.SectionName} cannot be bound to its options.";
        }
    }

    /// <summary>Null when the backend is not Milvus or the server answers; otherwise one line naming <c>Icdiff:Milvus:Uri</c>.</summary>
    public static async Task<string?> UnreachableAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        if (!Needed(configuration) || Problem(configuration) is not null)
        {
            return null;
        }

        var options = Options(configuration);
        options.RequestTimeout = ProbeTimeout < options.RequestTimeout ? ProbeTimeout : options.RequestTimeout;
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            await new MilvusRestClient(http, options).ProbeAsync(cancellationToken);
            return null;
        }
        catch (MilvusException ex)
        {
            var server = new Uri(options.Uri!).GetLeftPart(UriPartial.Authority);
            return $"{MilvusOptions.SectionName}:{nameof(MilvusOptions.Uri)}: the Milvus server at {server} does not answer ({ex.ServerMessage}); {GalleryIndexOptions.SectionName}:Kind is '{GalleryBackends.Milvus}'.";
        }
    }

    private static MilvusOptions Options(IConfiguration configuration) =>
        configuration.GetSection(MilvusOptions.SectionName).Get<MilvusOptions>() ?? new MilvusOptions();
}
