namespace Icdiff.Core;

/// <summary>Opens the corpus locations of one technology (local folders, blob containers, manifests).</summary>
public interface ICorpusSourceProvider
{
    bool CanOpen(string location);

    /// <summary>Opens a location; a location that does not exist or holds nothing usable throws <see cref="CorpusException"/>.</summary>
    ICorpusSource Open(string location);
}
