namespace Icdiff.Core;

/// <summary>Decodes encoded image bytes straight into a normalised CHW float tensor of a model's input size.</summary>
public interface IImageDecoder
{
    /// <summary>Never throws for bad image data: a bad image is data, returned as a failed result with a reason.</summary>
    DecodeResult Decode(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination);
}
