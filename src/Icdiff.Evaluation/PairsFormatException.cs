namespace Icdiff.Evaluation;

/// <summary>A pairs file that cannot be read; the message names the file and the row or column.</summary>
public sealed class PairsFormatException : Exception
{
    public PairsFormatException()
    {
    }

    public PairsFormatException(string message)
        : base(message)
    {
    }

    public PairsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
