using System.Text.Json;
using System.Text.Json.Serialization;

namespace Icdiff.Core;

/// <summary>
/// Reads and writes the JSON model manifest that sits next to an .onnx file. Parsing validates every field and
/// reports the first problem by its JSON path, so a user fixing a manifest by hand knows where to look.
/// </summary>
public static class ModelManifestJson
{
    public const string Format = "icdiff-model/1";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 16,
        // Manifests are files people read and edit, never HTML: keep '+' and quotes readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Parses a manifest; <paramref name="baseDirectory"/> resolves a relative onnx path.</summary>
    public static ModelManifest Parse(string json, string source, string baseDirectory)
    {
        ManifestDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize<ManifestDocument>(json, Options);
        }
        catch (JsonException ex)
        {
            throw new ModelManifestException($"model manifest '{source}' is not valid JSON: {ex.Message}", ex);
        }

        if (doc is null)
        {
            throw new ModelManifestException($"model manifest '{source}' is empty.");
        }

        string Fail(string field, string problem) =>
            throw new ModelManifestException($"model manifest '{source}': {field} {problem}");

        if (doc.Format is not null && doc.Format != Format)
        {
            Fail("format", $"is '{doc.Format}'; this version reads '{Format}'.");
        }

        if (string.IsNullOrWhiteSpace(doc.Name))
        {
            Fail("name", "is required.");
        }

        if (string.IsNullOrWhiteSpace(doc.Onnx))
        {
            Fail("onnx", "is required (path of the .onnx file, relative to the manifest).");
        }

        var input = doc.Input ?? throw new ModelManifestException($"model manifest '{source}': input is required.");
        var output = doc.Output ?? throw new ModelManifestException($"model manifest '{source}': output is required.");
        var scoring = doc.Scoring ?? throw new ModelManifestException($"model manifest '{source}': scoring is required.");

        if (input.Width is < 8 or > 4096 || input.Height is < 8 or > 4096)
        {
            Fail("input.width/height", $"must be 8..4096 (got {input.Width}x{input.Height}).");
        }

        var resize = input.Resize switch
        {
            null or "squash" => ResizeMode.Squash,
            "short-edge-crop" => ResizeMode.ShortEdgeCenterCrop,
            _ => throw new ModelManifestException($"model manifest '{source}': input.resize is '{input.Resize}'; use 'squash' or 'short-edge-crop'."),
        };

        var shortEdge = input.ShortEdge ?? Math.Max(input.Width, input.Height);
        if (resize == ResizeMode.ShortEdgeCenterCrop && (shortEdge < Math.Max(input.Width, input.Height) || shortEdge > 8192))
        {
            Fail("input.shortEdge", $"must be at least the crop size and at most 8192 (got {shortEdge}).");
        }

        var mean = input.Mean ?? [.. PreprocessSpec.ImageNetMean];
        var std = input.Std ?? [.. PreprocessSpec.ImageNetStd];
        if (mean.Length != 3 || mean.Any(m => !float.IsFinite(m)))
        {
            Fail("input.mean", "must be 3 finite numbers (R, G, B).");
        }

        if (std.Length != 3 || std.Any(s => !float.IsFinite(s) || s <= 0))
        {
            Fail("input.std", "must be 3 positive numbers (R, G, B).");
        }

        if (output.Tokens is < 1 or > 64 || output.Dim is < 1 or > 65_536)
        {
            Fail("output.tokens/dim", $"must be 1..64 tokens of 1..65536 floats (got {output.Tokens} x {output.Dim}).");
        }

        ScoringRule rule;
        switch (scoring.Rule)
        {
            case PdfArgmaxRule.RuleName:
                if (output.Tokens != ReplicationLevels.Count)
                {
                    Fail("output.tokens", $"must be 6 for pdf-argmax (got {output.Tokens}).");
                }

                var tolerance = scoring.TieTolerance ?? PdfArgmaxRule.DefaultTieTolerance;
                if (!(tolerance is >= 0 and <= 0.1f))
                {
                    Fail("scoring.tieTolerance", $"must be 0..0.1 (got {tolerance}).");
                }

                rule = new PdfArgmaxRule(tolerance);
                break;
            case CosineThresholdsRule.RuleName:
                if (output.Tokens != 1)
                {
                    Fail("output.tokens", $"must be 1 for cosine-thresholds (got {output.Tokens}).");
                }

                try
                {
                    rule = new CosineThresholdsRule(scoring.Thresholds ?? []);
                }
                catch (ArgumentException ex)
                {
                    throw new ModelManifestException($"model manifest '{source}': scoring.thresholds: {ex.Message}", ex);
                }

                break;
            case MaxTokenCosineRule.RuleName:
                try
                {
                    rule = new MaxTokenCosineRule(output.Tokens, scoring.Thresholds ?? []);
                }
                catch (ArgumentException ex)
                {
                    throw new ModelManifestException($"model manifest '{source}': scoring.thresholds: {ex.Message}", ex);
                }

                break;
            default:
                throw new ModelManifestException($"model manifest '{source}': scoring.rule is '{scoring.Rule}'; use '{PdfArgmaxRule.RuleName}', '{CosineThresholdsRule.RuleName}' or '{MaxTokenCosineRule.RuleName}'.");
        }

        if (scoring.TieTolerance is not null && rule is not PdfArgmaxRule)
        {
            Fail("scoring.tieTolerance", $"applies to {PdfArgmaxRule.RuleName} only.");
        }

        if (scoring.GradedLevels is { } graded)
        {
            try
            {
                rule = rule.WithGradedLevels(graded);
            }
            catch (ArgumentException ex)
            {
                throw new ModelManifestException($"model manifest '{source}': scoring.gradedLevels: {ex.Message}", ex);
            }
        }

        var onnxPath = Path.IsPathRooted(doc.Onnx!) ? doc.Onnx! : Path.GetFullPath(Path.Combine(baseDirectory, doc.Onnx!));
        return new ModelManifest(
            doc.Name!,
            onnxPath,
            string.IsNullOrWhiteSpace(input.Name) ? "input" : input.Name,
            new PreprocessSpec(input.Width, input.Height, resize, shortEdge, mean, std)
            {
                FullJpegDecode = input.FullJpegDecode ?? false,
                ExifRotation = input.ExifRotation ?? true,
            },
            string.IsNullOrWhiteSpace(output.Name) ? "output" : output.Name,
            output.Tokens,
            output.Dim,
            rule,
            doc.Notes);
    }

    /// <summary>Writes a manifest; the onnx path is written relative to <paramref name="baseDirectory"/> when it lies below it.</summary>
    public static string Serialize(ModelManifest manifest, string baseDirectory)
    {
        var relative = Path.GetRelativePath(baseDirectory, manifest.OnnxPath);
        var onnx = relative.StartsWith("..", StringComparison.Ordinal) ? manifest.OnnxPath : relative;
        var p = manifest.Preprocess;
        var doc = new ManifestDocument
        {
            Format = Format,
            Name = manifest.Name,
            Onnx = onnx,
            Notes = manifest.Notes,
            Input = new InputDocument
            {
                Name = manifest.InputName,
                Width = p.Width,
                Height = p.Height,
                Resize = p.Resize == ResizeMode.Squash ? "squash" : "short-edge-crop",
                ShortEdge = p.Resize == ResizeMode.Squash ? null : p.ShortEdge,
                Mean = [.. p.Mean],
                Std = [.. p.Std],
                // Written only when they differ from the defaults, so existing manifests round-trip unchanged.
                FullJpegDecode = p.FullJpegDecode ? true : null,
                ExifRotation = p.ExifRotation ? null : false,
            },
            Output = new OutputDocument { Name = manifest.OutputName, Tokens = manifest.OutputTokens, Dim = manifest.OutputDim },
            Scoring = new ScoringDocument
            {
                Rule = manifest.Scoring.Name,
                Thresholds = manifest.Scoring switch { CosineThresholdsRule c => [.. c.Thresholds], MaxTokenCosineRule m => [.. m.Thresholds], _ => null },
                TieTolerance = manifest.Scoring is PdfArgmaxRule pdf && pdf.TieTolerance != PdfArgmaxRule.DefaultTieTolerance ? pdf.TieTolerance : null,
                GradedLevels = manifest.Scoring.GradedLevels.Count == ReplicationLevels.Count ? null : [.. manifest.Scoring.GradedLevels],
            },
        };
        return JsonSerializer.Serialize(doc, Options);
    }

    private sealed class ManifestDocument
    {
        public string? Format { get; set; }

        public string? Name { get; set; }

        public string? Onnx { get; set; }

        public string? Notes { get; set; }

        public InputDocument? Input { get; set; }

        public OutputDocument? Output { get; set; }

        public ScoringDocument? Scoring { get; set; }
    }

    private sealed class InputDocument
    {
        public string? Name { get; set; }

        public int Width { get; set; }

        public int Height { get; set; }

        public string? Resize { get; set; }

        public int? ShortEdge { get; set; }

        public float[]? Mean { get; set; }

        public float[]? Std { get; set; }

        /// <summary>Decode JPEGs in full before resizing (no DCT down-scaling); default false.</summary>
        public bool? FullJpegDecode { get; set; }

        /// <summary>Turn images upright by their EXIF orientation first; default true.</summary>
        public bool? ExifRotation { get; set; }
    }

    private sealed class OutputDocument
    {
        public string? Name { get; set; }

        public int Tokens { get; set; }

        public int Dim { get; set; }
    }

    private sealed class ScoringDocument
    {
        public string? Rule { get; set; }

        public float[]? Thresholds { get; set; }

        public float? TieTolerance { get; set; }

        public int[]? GradedLevels { get; set; }
    }
}
