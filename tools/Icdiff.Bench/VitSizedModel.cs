using Icdiff.Embedding.Onnx.Graph;

namespace Icdiff.Bench;

/// <summary>
/// A model of PDF-Embedding's size and shape with random weights, for measuring the pipeline with a heavy model
/// without downloading one: ViT-B/16 at 224 x 224 (16 x 16 patches, width 768, 12 blocks of 12-head attention and a
/// 3,072-wide MLP, about 86M parameters and 17.6 GFLOPs an image), its first six output tokens as PDF-Embedding's six.
/// Built with the project's own ONNX writer (opset 17); what it computes is meaningless, what it costs is the real model's.
/// </summary>
internal static class VitSizedModel
{
    public const int Image = 224;
    public const int Patch = 16;
    public const int Width = 768;
    public const int Depth = 12;
    public const int Heads = 12;
    public const int MlpWidth = 3072;
    public const int OutputTokens = 6;

    private const int Tokens = ((Image / Patch) * (Image / Patch)) + 1;

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for model.onnx and model.json.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 1 };
        var depth = new Option<int>("--depth") { Description = "Transformer blocks (12 for ViT-B/16; fewer for a quick check).", DefaultValueFactory = _ => Depth };
        var command = new Command("vit-model", "Write a ViT-B/16-sized model with random weights (PDF-Embedding's cost, meaningless output) for benchmarks.") { output, seed, depth };
        command.SetAction((parse, _) => CommandHost.RunAsync(() =>
        {
            var manifest = Write(Path.GetFullPath(parse.GetValue(output)!), parse.GetValue(seed), parse.GetValue(depth));
            Console.WriteLine($"Wrote {manifest} ({new FileInfo(Path.Combine(Path.GetDirectoryName(manifest)!, "model.onnx")).Length >> 20} MiB of ONNX)");
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>Writes model.onnx and model.json into <paramref name="folder"/>; returns the manifest's path.</summary>
    public static string Write(string folder, int seed, int depth = Depth)
    {
        if (depth is < 1 or > 48)
        {
            throw new CliError($"--depth must be 1..48 (got {depth}).");
        }

        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), BuildOnnx(seed, depth));
        var manifest = Path.Combine(folder, "model.json");
        var description = new ModelManifest(
            depth == Depth ? "vit-b16-random" : $"vit-b16-random-depth{depth}",
            Path.Combine(folder, "model.onnx"),
            "input",
            new PreprocessSpec(Image, Image, ResizeMode.Squash, Image, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd) { FullJpegDecode = true, ExifRotation = false },
            "tokens",
            OutputTokens,
            Width,
            new PdfArgmaxRule(),
            $"ViT-B/16-sized random model ({depth} blocks): PDF-Embedding's input, output and cost, random weights; for benchmarks only.");
        File.WriteAllText(manifest, ModelManifestJson.Serialize(description, folder));
        return manifest;
    }

    public static byte[] BuildOnnx(int seed, int depth)
    {
        var random = new Random(seed);
        var b = new OnnxModelBuilder("vit_b16_random");
        b.Input("input", null, 3, Image, Image);
        b.Output("tokens", null, OutputTokens, Width);

        // Patch embedding, then a class token (a learned vector; derived from the patches times zero so that it takes
        // the batch dimension without shape arithmetic) and position embeddings.
        b.Initializer("patch_w", [Width, 3, Patch, Patch], Weights(random, Width * 3 * Patch * Patch));
        b.Initializer("patch_b", [Width], Weights(random, Width));
        b.Node("Conv", ["input", "patch_w", "patch_b"], ["patches"], OnnxAttribute.Numbers("kernel_shape", Patch, Patch), OnnxAttribute.Numbers("strides", Patch, Patch));
        b.Int64Initializer("patch_shape", [0, Width, -1]);
        b.Node("Reshape", ["patches", "patch_shape"], ["patch_rows"]);
        b.Node("Transpose", ["patch_rows"], ["patch_tokens"], OnnxAttribute.Numbers("perm", 0, 2, 1));
        b.Node("ReduceMean", ["patch_tokens"], ["patch_mean"], OnnxAttribute.Numbers("axes", 1), OnnxAttribute.Number("keepdims", 1));
        b.Initializer("zero", [], [0f]);
        b.Node("Mul", ["patch_mean", "zero"], ["zeros"]);
        b.Initializer("cls", [1, 1, Width], Weights(random, Width));
        b.Node("Add", ["zeros", "cls"], ["cls_tokens"]);
        b.Node("Concat", ["cls_tokens", "patch_tokens"], ["tokens_in"], OnnxAttribute.Number("axis", 1));
        b.Initializer("position", [1, Tokens, Width], Weights(random, Tokens * Width));
        b.Node("Add", ["tokens_in", "position"], ["x0"]);

        b.Int64Initializer("head_shape", [0, -1, Heads, Width / Heads]);
        b.Int64Initializer("merge_shape", [0, -1, Width]);
        b.Initializer("attention_scale", [], [1f / MathF.Sqrt(Width / Heads)]);
        b.Initializer("sqrt2", [], [MathF.Sqrt(2)]);
        b.Initializer("one", [], [1f]);
        b.Initializer("half", [], [0.5f]);
        var x = "x0";
        for (var layer = 0; layer < depth; layer++)
        {
            string P(string name) => $"l{layer}_{name}";
            LayerNorm(b, random, x, P("ln1"));
            foreach (var part in new[] { "q", "k", "v" })
            {
                Linear(b, random, P("ln1"), P(part), Width, Width);
                b.Node("Reshape", [P(part), "head_shape"], [P($"{part}_heads")]);
            }

            b.Node("Transpose", [P("q_heads")], [P("q_t")], OnnxAttribute.Numbers("perm", 0, 2, 1, 3));
            b.Node("Transpose", [P("k_heads")], [P("k_t")], OnnxAttribute.Numbers("perm", 0, 2, 3, 1));
            b.Node("Transpose", [P("v_heads")], [P("v_t")], OnnxAttribute.Numbers("perm", 0, 2, 1, 3));
            b.Node("MatMul", [P("q_t"), P("k_t")], [P("scores_raw")]);
            b.Node("Mul", [P("scores_raw"), "attention_scale"], [P("scores")]);
            b.Node("Softmax", [P("scores")], [P("attention")], OnnxAttribute.Number("axis", -1));
            b.Node("MatMul", [P("attention"), P("v_t")], [P("context_heads")]);
            b.Node("Transpose", [P("context_heads")], [P("context_t")], OnnxAttribute.Numbers("perm", 0, 2, 1, 3));
            b.Node("Reshape", [P("context_t"), "merge_shape"], [P("context")]);
            Linear(b, random, P("context"), P("projected"), Width, Width);
            b.Node("Add", [x, P("projected")], [P("mid")]);

            LayerNorm(b, random, P("mid"), P("ln2"));
            Linear(b, random, P("ln2"), P("hidden"), Width, MlpWidth);
            // GELU, exactly: x * 0.5 * (1 + erf(x / sqrt 2)).
            b.Node("Div", [P("hidden"), "sqrt2"], [P("gelu_scaled")]);
            b.Node("Erf", [P("gelu_scaled")], [P("gelu_erf")]);
            b.Node("Add", [P("gelu_erf"), "one"], [P("gelu_shift")]);
            b.Node("Mul", [P("hidden"), P("gelu_shift")], [P("gelu_twice")]);
            b.Node("Mul", [P("gelu_twice"), "half"], [P("gelu")]);
            Linear(b, random, P("gelu"), P("mlp"), MlpWidth, Width);
            b.Node("Add", [P("mid"), P("mlp")], [P("out")]);
            x = P("out");
        }

        LayerNorm(b, random, x, "final");
        b.Int64Initializer("token_starts", [0]);
        b.Int64Initializer("token_ends", [OutputTokens]);
        b.Int64Initializer("token_axes", [1]);
        b.Node("Slice", ["final", "token_starts", "token_ends", "token_axes"], ["tokens"]);
        return b.Build("icdiff-bench vit-model", "ViT-B/16-sized model with random weights (benchmarks only)");
    }

    private static void LayerNorm(OnnxModelBuilder b, Random random, string input, string output)
    {
        b.Initializer($"{output}_scale", [Width], [.. Enumerable.Range(0, Width).Select(_ => 1f + ((random.NextSingle() - 0.5f) * 0.1f))]);
        b.Initializer($"{output}_bias", [Width], Weights(random, Width));
        b.Node("LayerNormalization", [input, $"{output}_scale", $"{output}_bias"], [output], OnnxAttribute.Number("axis", -1));
    }

    private static void Linear(OnnxModelBuilder b, Random random, string input, string output, int inputs, int outputs)
    {
        b.Initializer($"{output}_w", [inputs, outputs], Weights(random, inputs * outputs));
        b.Initializer($"{output}_b", [outputs], Weights(random, outputs));
        b.Node("MatMul", [input, $"{output}_w"], [$"{output}_mm"]);
        b.Node("Add", [$"{output}_mm", $"{output}_b"], [output]);
    }

    /// <summary>Uniform weights of standard deviation 0.02 (ViT's initialisation scale), so activations stay finite.</summary>
    private static float[] Weights(Random random, int count)
    {
        var values = new float[count];
        var spread = 0.02f * MathF.Sqrt(3f);
        for (var i = 0; i < count; i++)
        {
            values[i] = ((random.NextSingle() * 2) - 1) * spread;
        }

        return values;
    }
}
