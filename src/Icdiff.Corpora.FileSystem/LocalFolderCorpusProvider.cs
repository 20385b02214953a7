using Icdiff.Core;

namespace Icdiff.Corpora.FileSystem;

/// <summary>Opens plain paths and file:// URIs as folders.</summary>
public sealed class LocalFolderCorpusProvider : ICorpusSourceProvider
{
    public bool CanOpen(string location) =>
        location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) || !location.Contains("://", StringComparison.Ordinal);

    public ICorpusSource Open(string location)
    {
        var path = location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location;
        if (File.Exists(path))
        {
            throw new CorpusException($"'{location}' is a file; a corpus is a folder of images.");
        }

        if (!Directory.Exists(path))
        {
            throw new CorpusException($"folder '{location}' does not exist.");
        }

        try
        {
            _ = Directory.EnumerateFileSystemEntries(path).FirstOrDefault();
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CorpusException($"folder '{location}' cannot be read (permission denied).", ex);
        }

        return new LocalFolderCorpus(path);
    }
}
