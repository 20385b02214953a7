using Icdiff.Core;
using Icdiff.Pipeline;

namespace Icdiff.Grains;

/// <summary>Conversions between the core's types and the wire records (the core stays free of Orleans).</summary>
internal static class WireMapping
{
    public static ImageRef ToWire(this CorpusItem item) => new(item.Key, item.Uri, item.Length, item.Stamp);

    public static CorpusItem ToCore(this ImageRef image) => new(image.Key, image.Uri, image.Length, image.Stamp);

    /// <summary>A matched outcome as a record, with the stamps of both images as they were read.</summary>
    public static MatchRecord ToMatch(this ItemOutcome outcome) =>
        new(outcome.Item.Key, outcome.Match!.GalleryKey, outcome.Match.Level, outcome.Match.Similarity, outcome.Item.Stamp, outcome.Match.GalleryStamp, outcome.Match.AltGalleryKey, outcome.Match.AltLevel);

    public static SkipRecord ToSkip(this ItemOutcome outcome) => new(outcome.Item.Key, outcome.Skip.ToString(), outcome.Detail);
}
