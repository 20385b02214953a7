namespace Icdiff.Pipeline;

/// <summary>
/// The gallery match of a generated image under the run's match rule after exact re-scoring (null key when the gallery
/// is empty), and the match's key and level under the other rule (<see cref="AltLevel"/> -1: not computed).
/// </summary>
public sealed record MatchResult(string? GalleryKey, int Level, float Similarity, float ProxyScore, string? AltGalleryKey = null, int AltLevel = -1)
{
    /// <summary>The stamp of the gallery image matched, as indexed (null when the gallery is empty).</summary>
    public string? GalleryStamp { get; init; }
}
