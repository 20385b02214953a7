namespace Icdiff.Grains;

/// <summary>
/// The gallery index of one (gallery, model) pair. Indexing is incremental: a listing pass reports what it
/// sees, only unseen content is embedded, entries no longer listed are dropped when the pass is sealed.
/// </summary>
public interface IGalleryIndexGrain : IGrainWithStringKey
{
    Task BeginPassAsync(int tokens, int dim, string fingerprint);

    /// <summary>Marks the items as present and returns those whose content is not indexed yet.</summary>
    Task<IReadOnlyList<ImageRef>> FilterNewAsync(IReadOnlyList<ImageRef> items);

    Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings);

    /// <summary>Drops entries not seen in this pass, persists the index and returns the snapshot workers search.</summary>
    Task<GallerySnapshot> SealPassAsync();
}
