namespace Icdiff.Pipeline;

/// <summary>The best gallery match of a generated image after exact re-scoring; null key when the gallery is empty.</summary>
public sealed record MatchResult(string? GalleryKey, int Level, float Similarity, float ProxyScore)
{
    /// <summary>The stamp of the gallery image matched, as indexed (null when the gallery is empty).</summary>
    public string? GalleryStamp { get; init; }
}
