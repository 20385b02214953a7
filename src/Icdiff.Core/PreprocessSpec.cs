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
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Floats in one CHW tensor of this spec.</summary>
    public int TensorLength => 3 * Width * Height;
}
