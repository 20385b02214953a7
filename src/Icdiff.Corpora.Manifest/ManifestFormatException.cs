namespace Icdiff.Corpora.Manifest;

/// <summary>A manifest that cannot be read as a whole; the message names the file and the line or row.</summary>
public sealed class ManifestFormatException : Exception
{
    public ManifestFormatException()
    {
    }

    public ManifestFormatException(string message)
        : base(message)
    {
    }

    public ManifestFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
