using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Imaging.Skia;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace Icdiff.Embedding.Onnx.Tests;

public sealed class ModelExportTests(ExportedModelsFixture models, ITestOutputHelper output) : IClassFixture<ExportedModelsFixture>
{
    private void RequirePython() => Assert.SkipWhen(models.SkipReason is not null, models.SkipReason ?? string.Empty);

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    [Theory]
    [InlineData("pdf", 6 * 768)]
    [InlineData("sscd", 512)]
    public void Export_OnnxMatchesPyTorchWithin1e4(string architecture, int floatsPerImage)
    {
        RequirePython();
        var (code, _, stderr) = architecture == "pdf" ? models.PdfExport : models.SscdExport;
        Assert.True(code == 0, stderr);
        var directory = architecture == "pdf" ? models.PdfDirectory : models.SscdDirectory;
        var shape = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "reference.json"))).RootElement.GetProperty("inputShape").EnumerateArray().Select(e => (long)e.GetInt32()).ToArray();
        var inputs = ReadFloats(Path.Combine(directory, "reference-inputs.f32"));
        var expected = ReadFloats(Path.Combine(directory, "reference-outputs.f32"));

        using var session = new InferenceSession(Path.Combine(directory, "model.onnx"));
        using var input = OrtValue.CreateTensorValueFromMemory(inputs, shape);
        using var results = session.Run(new RunOptions(), [session.InputNames[0]], [input], [session.OutputNames[0]]);
        var actual = results[0].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(shape[0] * floatsPerImage, actual.Length);
        var maxDiff = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
        output.WriteLine($"{architecture}: max |onnx - pytorch| = {maxDiff:E2} over {actual.Length} values");
        Assert.True(maxDiff <= 1e-4f, $"max difference {maxDiff}");
    }

    [Theory]
    [InlineData("pdf", PdfArgmaxRule.RuleName, 6, 768, ResizeMode.Squash)]
    [InlineData("sscd", CosineThresholdsRule.RuleName, 1, 512, ResizeMode.ShortEdgeCenterCrop)]
    public void Export_WritesAManifestThatValidatesAndLoads(string architecture, string rule, int tokens, int dim, ResizeMode resize)
    {
        RequirePython();
        var manifestPath = Path.Combine(architecture == "pdf" ? models.PdfDirectory : models.SscdDirectory, "model.json");

        var manifest = ModelCatalog.ReadManifest(manifestPath);
        using var catalog = new ModelCatalog(Options.Create(new OnnxOptions()), NullLoggerFactory.Instance);
        var embedder = catalog.Get(manifestPath);
        var outputs = new float[2 * manifest.EmbeddingLength];
        embedder.Embed(new float[2 * manifest.Preprocess.TensorLength], 2, outputs);

        Assert.Equal(rule, manifest.Scoring.Name);
        Assert.Equal((tokens, dim), (manifest.OutputTokens, manifest.OutputDim));
        Assert.Equal(resize, manifest.Preprocess.Resize);
        Assert.True(EmbeddingMath.IsFinite(outputs));
    }

    [Fact]
    public void Export_CheckpointWithWrongKeys_ListsMissingAndUnexpectedKeys()
    {
        RequirePython();

        var (code, _, stderr) = PythonTools.Run(TimeSpan.FromMinutes(3), PythonTools.Script("export_pdf_embedding.py"), "--checkpoint", models.BadCheckpoint, "--out", Path.Combine(models.Root, "bad"));

        Assert.Equal(2, code);
        Assert.Contains("missing keys (12)", stderr, StringComparison.Ordinal);
        Assert.Contains("blocks.11.attn.qkv.weight", stderr, StringComparison.Ordinal);
        Assert.Contains("unexpected keys (1): extra_head.weight", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(models.Root, "bad", "model.onnx")));
    }

    /// <summary>
    /// The C# decoder against the Python reference (PIL bicubic resize, ToTensor, Normalize) on real photos from
    /// Debian's wallpaper packages: embeddings through the same ONNX model must agree with cosine >= 0.999.
    /// </summary>
    [Theory]
    [InlineData("pdf")]
    [InlineData("sscd")]
    public void Preprocessing_MatchesPillowReference_OnRealPhotos(string architecture)
    {
        RequirePython();
        var photos = RealPhotos();
        Assert.SkipWhen(photos.Length < 5, "Debian's plasma-workspace-wallpapers and mate-backgrounds are not installed; .ci/run installs them");
        var manifestPath = Path.Combine(architecture == "pdf" ? models.PdfDirectory : models.SscdDirectory, "model.json");
        var manifest = ModelCatalog.ReadManifest(manifestPath);
        var referencePath = Path.Combine(models.Root, $"{architecture}-pil.f32");
        var (code, _, stderr) = PythonTools.Run(TimeSpan.FromMinutes(5), [PythonTools.Script("reference_preprocess.py"), "--manifest", manifestPath, "--out", referencePath, .. photos]);
        Assert.True(code == 0, stderr);
        var reference = ReadFloats(referencePath);

        using var catalog = new ModelCatalog(Options.Create(new OnnxOptions()), NullLoggerFactory.Instance);
        var embedder = catalog.Get(manifestPath);
        var referenceEmbedded = new float[photos.Length * manifest.EmbeddingLength];
        embedder.Embed(reference, photos.Length, referenceEmbedded);

        // The default (fastest DCT scale) is what must pass; 2x oversampling is reported for the documentation.
        var oversampled = Compare(2.0);
        var worst = Compare(1.0);
        output.WriteLine($"{architecture}: worst cosine {worst:0.00000} over {photos.Length} photos (with DctOversampling 2: {oversampled:0.00000})");
        Assert.True(worst >= 0.999f, $"worst cosine {worst}");

        float Compare(double oversampling)
        {
            var length = manifest.Preprocess.TensorLength;
            var ours = new float[photos.Length * length];
            var decoder = new SkiaImageDecoder(new DecoderOptions { DctOversampling = oversampling });
            for (var i = 0; i < photos.Length; i++)
            {
                var result = decoder.Decode(File.ReadAllBytes(photos[i]), manifest.Preprocess, ours.AsSpan(i * length, length));
                Assert.True(result.Succeeded, $"{photos[i]}: {result.Detail}");
            }

            var e = manifest.EmbeddingLength;
            var oursEmbedded = new float[photos.Length * e];
            embedder.Embed(ours, photos.Length, oursEmbedded);
            var dim = manifest.OutputDim;
            var min = 1f;
            for (var i = 0; i < photos.Length; i++)
            {
                // Root-mean-square pixel difference in 0..255 units (tensors are normalised; std ~0.226).
                var pixelDiff = TensorPrimitives.Distance(ours.AsSpan(i * length, length), reference.AsSpan(i * length, length)) / MathF.Sqrt(length) * 0.226f * 255f;
                var cosines = Enumerable.Range(0, manifest.OutputTokens).Select(k => TensorPrimitives.Dot(oursEmbedded.AsSpan((i * e) + (k * dim), dim), referenceEmbedded.AsSpan((i * e) + (k * dim), dim))).ToArray();
                output.WriteLine($"oversampling {oversampling}: {Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(photos[i])))}/{Path.GetFileName(photos[i])}: rms pixel diff {pixelDiff:0.00}/255, min token cosine {cosines.Min():0.00000}");
                min = Math.Min(min, cosines.Min());
            }

            return min;
        }
    }

    private static string[] RealPhotos()
    {
        var photos = new List<string>();
        if (Directory.Exists("/usr/share/wallpapers"))
        {
            photos.AddRange(Directory.EnumerateFiles("/usr/share/wallpapers", "2560x1600.jpg", SearchOption.AllDirectories));
        }

        if (Directory.Exists("/usr/share/backgrounds/mate/nature"))
        {
            photos.AddRange(Directory.EnumerateFiles("/usr/share/backgrounds/mate/nature", "*.jpg"));
        }

        return [.. photos.Order(StringComparer.Ordinal)];
    }
}
