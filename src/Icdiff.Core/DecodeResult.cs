namespace Icdiff.Core;

/// <summary>Outcome of decoding one image into a model input tensor: success, or a skip with its reason.</summary>
public readonly record struct DecodeResult(SkipReason Skip, string? Detail, int SourceWidth, int SourceHeight)
{
    public bool Succeeded => Skip == SkipReason.None;

    public static DecodeResult Ok(int width, int height) => new(SkipReason.None, null, width, height);

    public static DecodeResult Failed(SkipReason reason, string detail) => new(reason, detail, 0, 0);
}
