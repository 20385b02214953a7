namespace Icdiff.Core;

/// <summary>A model manifest that cannot be used; the message names the file and the offending field.</summary>
public sealed class ModelManifestException : Exception
{
    public ModelManifestException()
    {
    }

    public ModelManifestException(string message)
        : base(message)
    {
    }

    public ModelManifestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
