using System.Text;
using Icdiff.Tests.Shared;

namespace Icdiff.Core.Tests;

/// <summary>The model manifest reader on thousands of random and mutated documents: it parses or throws <see cref="ModelManifestException"/>, nothing else.</summary>
public sealed class ModelManifestFuzzTests
{
    private static readonly byte[][] Seeds =
    [
        """
        { "name": "pdf", "onnx": "pdf.onnx",
          "input": { "name": "x", "width": 224, "height": 224, "resize": "squash", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
          "output": { "name": "tokens", "tokens": 6, "dim": 768 },
          "scoring": { "rule": "pdf-argmax" } }
        """u8.ToArray(),
        """
        { "name": "sscd", "onnx": "sub/sscd.onnx",
          "input": { "name": "input", "width": 288, "height": 288, "resize": "short-edge-center-crop", "shortEdge": 320 },
          "output": { "name": "embedding", "tokens": 1, "dim": 512 },
          "scoring": { "rule": "cosine-thresholds", "thresholds": [0.3, 0.4, 0.5, 0.6, 0.75] } }
        """u8.ToArray(),
    ];

    [Fact]
    public void RandomAndMutatedManifests_ParseOrFailWithModelManifestException()
    {
        var parsed = 0;
        var rejected = 0;
        var number = 0;
        foreach (var input in InputMutator.Cases(Seeds, 3000, 404))
        {
            number++;
            var json = Encoding.UTF8.GetString(input);
            try
            {
                ModelManifestJson.Parse(json, "fuzz.json", "/models");
                parsed++;
            }
            catch (ModelManifestException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {number} threw {ex.GetType().Name}: {ex.Message}\ninput: {json}");
            }
        }

        Assert.True(parsed > 0 && rejected > 0, $"parsed {parsed}, rejected {rejected}");
    }
}
