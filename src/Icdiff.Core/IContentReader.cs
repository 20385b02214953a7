namespace Icdiff.Core;

/// <summary>
/// Reads one image addressed by URI (a path, file://, az://...). Manifest corpora list URIs of any scheme and
/// read them through whichever reader understands the scheme.
/// </summary>
public interface IContentReader
{
    bool CanRead(string uri);

    /// <summary>Reads the bytes; a missing, unreadable or over-limit image is an <see cref="ItemReadException"/>.</summary>
    ValueTask<byte[]> ReadAsync(string uri, long maxBytes, CancellationToken cancellationToken);
}
