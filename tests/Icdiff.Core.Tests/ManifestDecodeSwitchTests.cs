using Icdiff.Core;

namespace Icdiff.Core.Tests;

/// <summary>The manifest's decode switches: input.fullJpegDecode and input.exifRotation.</summary>
public sealed class ManifestDecodeSwitchTests
{
    private static string Manifest(string inputExtra) => $$"""
        { "name": "pdf", "onnx": "pdf.onnx",
          "input": { "name": "x", "width": 224, "height": 224, "resize": "squash"{{inputExtra}} },
          "output": { "name": "tokens", "tokens": 6, "dim": 768 },
          "scoring": { "rule": "pdf-argmax" } }
        """;

    [Fact]
    public void Parse_WithoutSwitches_KeepsTodaysDecode()
    {
        var spec = ModelManifestJson.Parse(Manifest(string.Empty), "m.json", "/models").Preprocess;

        Assert.False(spec.FullJpegDecode);
        Assert.True(spec.ExifRotation);
        Assert.False(spec.IsReferenceDecode);
    }

    [Fact]
    public void Parse_ReferenceSwitches_AreRead_AndRoundTrip()
    {
        var parsed = ModelManifestJson.Parse(Manifest(""", "fullJpegDecode": true, "exifRotation": false"""), "m.json", "/models");

        Assert.True(parsed.Preprocess.IsReferenceDecode);
        var again = ModelManifestJson.Parse(ModelManifestJson.Serialize(parsed, "/models"), "again.json", "/models");
        Assert.True(again.Preprocess.FullJpegDecode);
        Assert.False(again.Preprocess.ExifRotation);
    }

    [Fact]
    public void Serialize_AtDefaults_WritesNoSwitch()
    {
        var parsed = ModelManifestJson.Parse(Manifest(string.Empty), "m.json", "/models");

        var json = ModelManifestJson.Serialize(parsed, "/models");

        Assert.DoesNotContain("fullJpegDecode", json, StringComparison.Ordinal);
        Assert.DoesNotContain("exifRotation", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""", "fullJpegDecode": "yes" """, "input.fullJpegDecode")]
    [InlineData(""", "exifRotation": 0 """, "input.exifRotation")]
    public void Parse_SwitchThatIsNotABoolean_NamesTheField(string extra, string field)
    {
        var error = Assert.Throws<ModelManifestException>(() => ModelManifestJson.Parse(Manifest(extra), "m.json", "/models"));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
