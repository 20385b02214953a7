using Icdiff.Index.Embedded;
using Icdiff.Core;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Sharded;

/// <summary>
/// The sharded backend: a worker's view of a snapshot asks the partition grains and reads candidates' tokens through
/// the silo's one bounded <see cref="TokenSegmentCache"/>.
/// </summary>
internal sealed class ShardedGalleryIndexBackend(IGrainFactory grains, TokenSegmentCache tokens, IOptions<GalleryIndexOptions> options) : IGalleryIndexBackend
{
    public string Kind => GalleryBackends.Sharded;

    public string IndexGrainClass => typeof(ShardedGalleryIndexGrain).FullName!;

    public string Describe(GalleryIndexOptions options) => $"{GalleryBackends.Sharded}, {options.Partitions} partitions";

    public IGalleryIndex Open(GallerySnapshot snapshot, ModelManifest model) =>
        new ShardedGalleryIndex(grains, snapshot, model.OutputTokens, model.EmbeddingLength, tokens, options.Value.CandidateLimitFactor);
}
