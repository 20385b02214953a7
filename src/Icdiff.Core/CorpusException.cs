namespace Icdiff.Core;

/// <summary>A corpus that cannot be used at all (missing, empty, not accessible): the run cannot start.</summary>
public sealed class CorpusException : Exception
{
    public CorpusException()
    {
    }

    public CorpusException(string message)
        : base(message)
    {
    }

    public CorpusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
