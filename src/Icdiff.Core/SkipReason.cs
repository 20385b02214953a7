namespace Icdiff.Core;

/// <summary>Why an image was skipped. Stable names: they appear in reports and are counted per reason.</summary>
public enum SkipReason
{
    None = 0,
    Empty,
    NotAnImage,
    Corrupt,
    Truncated,
    TooLarge,
    ReadFailed,
    Missing,
    EmbeddingFailed,
    TimedOut,

    /// <summary>A FIFO, device, socket or directory where an image file was expected: refused before it is opened.</summary>
    NotARegularFile,
}
