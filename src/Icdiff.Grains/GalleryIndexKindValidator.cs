using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// <c>Icdiff:Index:Kind</c> must name a backend this host composed: a silo built without the Milvus backend refuses
/// <c>milvus</c> at start, naming the key, instead of failing at the first gallery pass.
/// </summary>
internal sealed class GalleryIndexKindValidator(IEnumerable<GalleryIndexBackendKind> backends) : IValidateOptions<GalleryIndexOptions>
{
    public ValidateOptionsResult Validate(string? name, GalleryIndexOptions options)
    {
        var kinds = backends.Select(b => b.Kind).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return options.Problems().Count > 0 || kinds.Contains(options.Kind, StringComparer.OrdinalIgnoreCase)
            ? ValidateOptionsResult.Skip
            : ValidateOptionsResult.Fail($"{GalleryIndexOptions.SectionName}:Kind '{options.Kind}' has no backend on this host (composed: {string.Join(", ", kinds.Order(StringComparer.Ordinal))}).");
    }
}
