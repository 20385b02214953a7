using Icdiff.Core;

namespace Icdiff.Pipeline;

/// <summary>What happened to one item: skipped with a reason, embedded, or matched against the gallery.</summary>
public sealed record ItemOutcome(CorpusItem Item, SkipReason Skip, string? Detail, float[]? Embedding, MatchResult? Match)
{
    public bool Skipped => Skip != SkipReason.None;

    /// <summary>The content id (<see cref="GalleryIds"/>) of the bytes read, when the batch asked for it.</summary>
    public long? ContentId { get; init; }
}
