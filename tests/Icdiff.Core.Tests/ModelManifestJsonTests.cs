using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class ModelManifestJsonTests
{
    private const string Pdf = """
        { "name": "pdf", "onnx": "pdf.onnx",
          "input": { "name": "x", "width": 224, "height": 224, "resize": "squash" },
          "output": { "name": "tokens", "tokens": 6, "dim": 768 },
          "scoring": { "rule": "pdf-argmax" } }
        """;

    [Fact]
    public void Parse_PdfManifest_DefaultsToImageNetNormalisation()
    {
        var manifest = ModelManifestJson.Parse(Pdf, "m.json", "/models");

        Assert.Equal("/models/pdf.onnx", manifest.OnnxPath);
        Assert.IsType<PdfArgmaxRule>(manifest.Scoring);
        Assert.Equal(6 * 768, manifest.EmbeddingLength);
        Assert.Equal(PreprocessSpec.ImageNetMean, manifest.Preprocess.Mean);
        Assert.Equal(ResizeMode.Squash, manifest.Preprocess.Resize);
    }

    [Fact]
    public void Serialize_ThenParse_RoundTrips()
    {
        var original = new ModelManifest("sscd", "/m/sscd.onnx", "input", new PreprocessSpec(224, 224, ResizeMode.ShortEdgeCenterCrop, 288, [0.5f, 0.5f, 0.5f], [0.2f, 0.2f, 0.2f]), "embedding", 1, 512, new CosineThresholdsRule([0.3f, 0.4f, 0.5f, 0.6f, 0.75f]), null);

        var parsed = ModelManifestJson.Parse(ModelManifestJson.Serialize(original, "/m"), "x", "/m");

        Assert.Equal("/m/sscd.onnx", parsed.OnnxPath);
        Assert.Equal(288, parsed.Preprocess.ShortEdge);
        Assert.Equal(ResizeMode.ShortEdgeCenterCrop, parsed.Preprocess.Resize);
        Assert.Equal([0.3f, 0.4f, 0.5f, 0.6f, 0.75f], ((CosineThresholdsRule)parsed.Scoring).Thresholds);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("""{ "name": "x", "onnx": "a.onnx", "input": {"width": 224, "height": 224}, "output": {"tokens": 6, "dim": 4}, "scoring": {"rule": "median"} }""", "scoring.rule")]
    [InlineData("""{ "name": "x", "onnx": "a.onnx", "input": {"width": 224, "height": 224}, "output": {"tokens": 1, "dim": 4}, "scoring": {"rule": "pdf-argmax"} }""", "output.tokens")]
    [InlineData("""{ "name": "x", "onnx": "a.onnx", "input": {"width": 224, "height": 224, "mean": [1, 2]}, "output": {"tokens": 6, "dim": 4}, "scoring": {"rule": "pdf-argmax"} }""", "input.mean")]
    [InlineData("""{ "name": "x", "onnx": "a.onnx", "input": {"width": 224, "height": 224}, "output": {"tokens": 1, "dim": 4}, "scoring": {"rule": "cosine-thresholds", "thresholds": [0.9, 0.1, 0.2, 0.3, 0.4]} }""", "scoring.thresholds")]
    [InlineData("""{ "onnx": "a.onnx" }""", "name")]
    public void Parse_BadManifest_NamesTheField(string json, string field)
    {
        var error = Assert.Throws<ModelManifestException>(() => ModelManifestJson.Parse(json, "bad.json", "/m"));

        Assert.Contains("bad.json", error.Message, StringComparison.Ordinal);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
