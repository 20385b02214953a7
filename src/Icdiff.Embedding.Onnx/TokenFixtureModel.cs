using Icdiff.Core;
using Icdiff.Embedding.Onnx.Graph;

namespace Icdiff.Embedding.Onnx;

/// <summary>Which six views of an image <see cref="TokenFixtureModel"/> describes.</summary>
public enum TokenFixture
{
    /// <summary>Six global views: as-is, two blurs, two pixelations, grey. Correlated tokens, as PDF-Embedding's are.</summary>
    Views,

    /// <summary>The whole image, its four quadrants and its centre. Weakly correlated tokens.</summary>
    Regions,
}

/// <summary>
/// Six-token models for measuring two-stage retrieval without PDF-Embedding's weights: each token is the built-in
/// descriptor of one view of the image. They have PDF-Embedding's output shape [N, 6, D] and are scored with
/// max-token-cosine at the built-in thresholds: the exact score depends on the single best-agreeing view, which
/// the proxy (the normalised mean of the tokens) blurs, so they show the gap two-stage retrieval must close.
/// pdf-argmax is not used because with untrained tokens the winning token, and so the level, would be noise.
/// Retrieval fixtures, not audit models.
/// </summary>
public static class TokenFixtureModel
{
    public const int Tokens = ReplicationLevels.Count;
    public const int Dim = BuiltinDescriptorModel.Dim;
    private const int Size = BuiltinDescriptorModel.InputSize;
    private const int Half = Size / 2;

    public static string NameOf(TokenFixture fixture) => fixture == TokenFixture.Views ? "icdiff-view-tokens-v1" : "icdiff-region-tokens-v1";

    public static ModelManifest CreateManifest(TokenFixture fixture, string onnxPath) => new(
        NameOf(fixture),
        onnxPath,
        "pixels",
        new PreprocessSpec(Size, Size, ResizeMode.Squash, Size, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd),
        "tokens",
        Tokens,
        Dim,
        new MaxTokenCosineRule(Tokens, BuiltinDescriptorModel.Thresholds),
        $"Six {fixture.ToString().ToLowerInvariant()} tokens of the built-in descriptor, max-token-cosine at the built-in thresholds: a retrieval fixture with PDF-Embedding's output shape.");

    public static byte[] BuildOnnx(TokenFixture fixture)
    {
        var b = new OnnxModelBuilder(NameOf(fixture))
            .Input("pixels", null, 3, Size, Size)
            .Output("tokens", null, Tokens, Dim);
        b.Int64Initializer("token_shape", [Tokens, -1, Dim]);
        var views = fixture == TokenFixture.Views ? AddGlobalViews(b) : AddRegionViews(b);

        // All views in one batch [6N, 3, 128, 128], view-major; one descriptor pass; then [N, 6, D].
        b.Node("Concat", [.. views], ["views"], OnnxAttribute.Number("axis", 0));
        BuiltinDescriptorModel.AddDescriptor(b, "views", "view_descriptors");
        b.Node("Reshape", ["view_descriptors", "token_shape"], ["view_major"]);
        b.Node("Transpose", ["view_major"], ["tokens"], OnnxAttribute.Numbers("perm", 1, 0, 2));
        return b.Build("icdiff", "Six-view tokens of the built-in descriptor: a retrieval fixture of Icdiff.Distributed (generated, not trained).");
    }

    private static List<string> AddGlobalViews(OnnxModelBuilder b)
    {
        b.Node("AveragePool", ["pixels"], ["blur3"], OnnxAttribute.Numbers("kernel_shape", 3, 3), OnnxAttribute.Numbers("pads", 1, 1, 1, 1), OnnxAttribute.Number("count_include_pad", 0));
        b.Node("AveragePool", ["pixels"], ["blur7"], OnnxAttribute.Numbers("kernel_shape", 7, 7), OnnxAttribute.Numbers("pads", 3, 3, 3, 3), OnnxAttribute.Number("count_include_pad", 0));
        foreach (var block in new[] { 4, 8 })
        {
            b.Initializer($"up{block}", [4], [1, 1, block, block]);
            b.Node("AveragePool", ["pixels"], [$"down{block}"], OnnxAttribute.Numbers("kernel_shape", block, block), OnnxAttribute.Numbers("strides", block, block));
            b.Node("Resize", [$"down{block}", string.Empty, $"up{block}"], [$"pixelate{block}"]);
        }

        // Grey in the normalised space: each channel becomes the luma, re-normalised with that channel's mean and std.
        var mean = PreprocessSpec.ImageNetMean;
        var std = PreprocessSpec.ImageNetStd;
        float[] luma = [0.299f, 0.587f, 0.114f];
        var weights = new float[9];
        var bias = new float[3];
        var lumaOfMean = (luma[0] * mean[0]) + (luma[1] * mean[1]) + (luma[2] * mean[2]);
        for (var c = 0; c < 3; c++)
        {
            for (var j = 0; j < 3; j++)
            {
                weights[(c * 3) + j] = luma[j] * std[j] / std[c];
            }

            bias[c] = (lumaOfMean - mean[c]) / std[c];
        }

        b.Initializer("grey_w", [3, 3, 1, 1], weights);
        b.Initializer("grey_b", [3], bias);
        b.Node("Conv", ["pixels", "grey_w", "grey_b"], ["grey"]);
        return ["pixels", "blur3", "blur7", "pixelate4", "pixelate8", "grey"];
    }

    private static List<string> AddRegionViews(OnnxModelBuilder b)
    {
        b.Int64Initializer("region_axes", [2, 3]);
        b.Initializer("upscale", [4], [1, 1, 2, 2]);
        (string Name, long Top, long Left)[] regions = [("tl", 0, 0), ("tr", 0, Half), ("bl", Half, 0), ("br", Half, Half), ("centre", Half / 2, Half / 2)];
        var views = new List<string> { "pixels" };
        foreach (var (name, top, left) in regions)
        {
            b.Int64Initializer($"{name}_starts", [top, left]);
            b.Int64Initializer($"{name}_ends", [top + Half, left + Half]);
            b.Node("Slice", ["pixels", $"{name}_starts", $"{name}_ends", "region_axes"], [$"{name}_crop"]);
            b.Node("Resize", [$"{name}_crop", string.Empty, "upscale"], [$"{name}_view"]);
            views.Add($"{name}_view");
        }

        return views;
    }
}
