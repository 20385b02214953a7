namespace Icdiff.Imaging.Skia;

/// <summary>Limits that keep one hostile image from taking the process down.</summary>
public sealed class DecoderOptions
{
    public const string SectionName = "Icdiff:Decoder";

    /// <summary>Images whose header declares more pixels than this are skipped before any pixel is decoded.</summary>
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>Encoded files larger than this are skipped without being read whole.</summary>
    public long MaxEncodedBytes { get; set; } = 256L * 1024 * 1024;

    public void Validate()
    {
        if (MaxPixels < 1)
        {
            throw new ArgumentException($"{SectionName}:MaxPixels must be positive (got {MaxPixels}).");
        }

        if (MaxEncodedBytes < 1)
        {
            throw new ArgumentException($"{SectionName}:MaxEncodedBytes must be positive (got {MaxEncodedBytes}).");
        }
    }
}
