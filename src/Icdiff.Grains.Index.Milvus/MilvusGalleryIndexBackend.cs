using Icdiff.Index.Embedded;
using Icdiff.Core;
using Icdiff.Index.Milvus;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Milvus;

/// <summary>
/// The Milvus backend: a worker's view of a snapshot searches the collection and reads candidates' tokens through
/// the silo's one bounded <see cref="TokenSegmentCache"/>.
/// </summary>
internal sealed class MilvusGalleryIndexBackend(MilvusConnection connection, IOptions<MilvusOptions> milvus, TokenSegmentCache tokens, IOptions<GalleryIndexOptions> options) : IGalleryIndexBackend
{
    public string Kind => GalleryBackends.Milvus;

    public string IndexGrainClass => typeof(MilvusGalleryIndexGrain).FullName!;

    public string Describe(GalleryIndexOptions options) => $"{GalleryBackends.Milvus}, collections {milvus.Value.Collection}_*";

    public IGalleryIndex Open(GallerySnapshot snapshot, ModelManifest model)
    {
        var collection = new MilvusGalleryCollection(connection.Client, milvus.Value, snapshot.Path);
        return new MilvusGalleryIndex(collection, snapshot, model.OutputTokens, model.EmbeddingLength, tokens, options.Value.MilvusOverfetch);
    }
}
