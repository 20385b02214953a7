namespace Icdiff.Core;

/// <summary>How an image becomes the model's input tensor: size, resize mode and per-channel normalisation.</summary>
public sealed record PreprocessSpec(
    int Width,
    int Height,
    ResizeMode Resize,
    int ShortEdge,
    IReadOnlyList<float> Mean,
    IReadOnlyList<float> Std)
{
    /// <summary>
    /// Decode JPEGs at full resolution before resizing, never at a reduced DCT scale. The DCT-scaled decode (the
    /// default) is several times faster and close to a full decode, but not the same pixels; reference pre-processing
    /// (Pillow's <c>Image.open(...).convert("RGB")</c>, then resize) decodes in full.
    /// </summary>
    public bool FullJpegDecode { get; init; }

    /// <summary>
    /// Turn images upright by their EXIF orientation tag before resizing (the default, as a viewer shows them). Off,
    /// pixels are used as stored, as Pillow gives them without <c>ImageOps.exif_transpose</c>, which the official
    /// PDF-Embedding code does not call.
    /// </summary>
    public bool ExifRotation { get; init; } = true;

    /// <summary>True when the spec decodes exactly as the reference code: full JPEG decode, no EXIF rotation.</summary>
    public bool IsReferenceDecode => FullJpegDecode && !ExifRotation;

    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Floats in one CHW tensor of this spec.</summary>
    public int TensorLength => 3 * Width * Height;
}
