namespace Icdiff.Core;

/// <summary>One item could not be read; the item is skipped with <see cref="Reason"/>, the run goes on.</summary>
public sealed class ItemReadException : Exception
{
    public ItemReadException()
    {
    }

    public ItemReadException(string message)
        : base(message)
    {
    }

    public ItemReadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ItemReadException(SkipReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    public SkipReason Reason { get; } = SkipReason.ReadFailed;
}
