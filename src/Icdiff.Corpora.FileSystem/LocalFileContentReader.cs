using Icdiff.Core;

namespace Icdiff.Corpora.FileSystem;

/// <summary>Reads absolute paths and file:// URIs for manifest corpora.</summary>
public sealed class LocalFileContentReader : IContentReader
{
    public bool CanRead(string uri) =>
        uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) || (!uri.Contains("://", StringComparison.Ordinal) && Path.IsPathRooted(uri));

    public ValueTask<byte[]> ReadAsync(string uri, long maxBytes, CancellationToken cancellationToken)
    {
        var path = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(uri).LocalPath : uri;
        return LocalFiles.ReadAsync(path, maxBytes, listed: false, cancellationToken);
    }
}
