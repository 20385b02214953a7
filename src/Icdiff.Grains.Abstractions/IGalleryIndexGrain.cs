namespace Icdiff.Grains;

/// <summary>
/// The gallery index of one (gallery, model) pair. Indexing is incremental: a listing pass reports what it
/// sees, only unseen content is embedded, entries no longer listed are dropped when the pass is sealed. Runs over
/// the same gallery may overlap: each has its own pass, and entries are dropped only when no other pass is open.
/// </summary>
public interface IGalleryIndexGrain : IGrainWithStringKey
{
    /// <summary>Opens a listing pass and returns its id.</summary>
    Task<Guid> BeginPassAsync(int tokens, int dim, string fingerprint);

    /// <summary>Marks the items as present in the pass and returns those whose content is not indexed yet.</summary>
    Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items);

    Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings);

    /// <summary>Closes the pass, persists the index if it changed and returns the snapshot workers search.</summary>
    Task<GallerySnapshot> SealPassAsync(Guid pass);
}
