using Icdiff.Core;

namespace Icdiff.Imaging.Skia;

/// <summary>Limits that keep one hostile image from taking the process down.</summary>
public sealed class DecoderOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Decoder";

    /// <summary>Images whose header declares more pixels than this are skipped before any pixel is decoded.</summary>
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>Encoded files larger than this are skipped without being read whole.</summary>
    public long MaxEncodedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) that leaves at least this many times the
    /// target size. 1 is fastest; 2 leaves the final reduction to the bicubic filter and tracks a full decode
    /// more closely on finely textured photos (see docs/preprocessing.md).
    /// </summary>
    public double DctOversampling { get; set; } = 1.0;

    /// <summary>
    /// "auto": JPEGs through the system's libjpeg-turbo (libturbojpeg0) when it loads, else SkiaSharp; "skia": always
    /// SkiaSharp. Both decode at the same DCT scale into the same resampler.
    /// </summary>
    public string JpegDecoder { get; set; } = "auto";

    /// <summary>Throws naming every out-of-range key at once (one per line).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    /// <summary>One message per key whose value is out of range, naming the key.</summary>
    public IEnumerable<string> Problems()
    {
        if (DctOversampling is < 1 or > 8 || double.IsNaN(DctOversampling))
        {
            yield return $"{SectionName}:DctOversampling must be 1..8 (got {DctOversampling}).";
        }

        if (JpegDecoder is not ("auto" or "skia"))
        {
            yield return $"{SectionName}:JpegDecoder must be auto or skia (got '{JpegDecoder}').";
        }

        if (MaxPixels < 1)
        {
            yield return $"{SectionName}:MaxPixels must be positive (got {MaxPixels}).";
        }

        if (MaxEncodedBytes < 1)
        {
            yield return $"{SectionName}:MaxEncodedBytes must be positive (got {MaxEncodedBytes}).";
        }
    }
}
