using System.Runtime.InteropServices;
using System.Text.Json;
using Icdiff.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Icdiff.Embedding.Onnx.Tests;

/// <summary>
/// tools/models/train_pdf_embedding.py: its Python suite (objective vs a hand-computed KL for both PDF shapes, one
/// epoch lowering the loss, readers, resume, DeiT initialisation), and the round trip a trained checkpoint makes into
/// this project: exported to ONNX, loaded by the model catalog and graded with the pdf-argmax rule, it gives the
/// levels PyTorch gave the same pairs.
/// </summary>
public sealed class TrainingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);

    private static void RequirePython() => Assert.SkipWhen(PythonTools.MissingReason is not null, PythonTools.MissingReason ?? string.Empty);

    [Fact]
    public void PythonSuite_Passes()
    {
        RequirePython();

        var (code, stdout, stderr) = PythonTools.Run(Timeout, PythonTools.Script("test_train_pdf_embedding.py"), "-v");

        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, $"python tests failed:\n{stderr}");
        Assert.Contains("test_loss_equals_hand_computed_kl_gauss", stderr, StringComparison.Ordinal);
        Assert.Contains("test_loss_equals_hand_computed_kl_exp", stderr, StringComparison.Ordinal);
        Assert.Contains("test_one_epoch_lowers_the_loss", stderr, StringComparison.Ordinal);
        Assert.Matches(@"Ran \d+ tests", stderr);
    }

    [Fact]
    public void TrainedCheckpoint_ExportedToOnnx_GradesPairsAsPyTorch()
    {
        RequirePython();
        var root = Directory.CreateTempSubdirectory("icdiff-train-").FullName;
        try
        {
            var tools = Path.Combine(PythonTools.RepositoryRoot, "tools", "models");
            var toy = PythonTools.Run(Timeout, "-c", $"import sys; sys.path.insert(0, {JsonSerializer.Serialize(tools)}); import test_train_pdf_embedding as t; t.write_toy_pairs({JsonSerializer.Serialize(root)}, 48, seed=5)");
            Assert.True(toy.ExitCode == 0, toy.Stderr);
            var run = Path.Combine(root, "run");
            var train = PythonTools.Run(
                Timeout,
                PythonTools.Script("train_pdf_embedding.py"),
                "--pairs", Path.Combine(root, "pairs.csv"), "--arch", "tiny", "--epochs", "3", "--batch-size", "8", "--warmup-epochs", "0",
                "--lr", "2e-3", "--val-fraction", "0.5", "--out", run, "--reference", "24", "--threads", "2");
            output.WriteLine(train.Stdout);
            Assert.True(train.ExitCode == 0, train.Stderr);

            var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "reference-pairs.json"))).RootElement;
            var expected = reference.GetProperty("levels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var cosines = reference.GetProperty("cosines").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetSingle()).ToArray()).ToArray();
            var inputs = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(run, "reference-pairs.f32"))).ToArray();

            var manifestPath = Path.Combine(run, "model.json");
            using var catalog = new ModelCatalog(Options.Create(new OnnxOptions()), NullLoggerFactory.Instance);
            var embedder = catalog.Get(manifestPath);
            var manifest = embedder.Manifest;
            Assert.Equal((PdfArgmaxRule.RuleName, 6, 32, 32), (manifest.Scoring.Name, manifest.OutputTokens, manifest.OutputDim, manifest.Preprocess.Width));
            Assert.Equal(expected.Length * 2 * manifest.Preprocess.TensorLength, inputs.Length);

            var tokens = new float[expected.Length * 2 * manifest.EmbeddingLength];
            embedder.Embed(inputs, expected.Length * 2, tokens);
            var rule = new PdfArgmaxRule();
            var length = manifest.EmbeddingLength;
            var compared = 0;
            var maxDiff = 0.0;
            for (var i = 0; i < expected.Length; i++)
            {
                var top = cosines[i].Order().TakeLast(2).ToArray();
                var score = rule.Score(tokens.AsSpan(2 * i * length, length), tokens.AsSpan(((2 * i) + 1) * length, length));
                maxDiff = Math.Max(maxDiff, Math.Abs(score.Similarity - cosines[i].Max()));
                Assert.True(Math.Abs(score.Similarity - cosines[i].Max()) < 1e-4, $"pair {i}: best cosine {score.Similarity} (ONNX) vs {cosines[i].Max()} (PyTorch)");
                if (top[1] - top[0] < 1e-5)
                {
                    continue; // a near-tie between two tokens may fall either way under float rounding
                }

                compared++;
                Assert.True(expected[i] == score.Level, $"pair {i}: level {score.Level} from ONNX, {expected[i]} from PyTorch");
            }

            output.WriteLine($"{compared}/{expected.Length} pairs compared (the rest within 1e-5 of a tie): same levels; levels {string.Join(',', expected)}; max |best cosine onnx - pytorch| {maxDiff:E2}");
            Assert.True(compared >= expected.Length / 2, $"only {compared} pairs clear of a tie");
            Assert.True(expected.Distinct().Count() >= 2, "the trained model gives every pair the same level: the comparison proves little");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
