using Icdiff.Embedding.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Icdiff.Bench;

/// <summary>The embedder against a bare ONNX Runtime loop on the same model.</summary>
internal static partial class BenchCommand
{
    /// <summary>
    /// Ours and the bare loop alternate, two seconds each, and the ratio is the median of the pairs' ratios. The bare
    /// session gets the embedder's own session settings (threads, no spinning), so the ratio is the embedder's
    /// overhead, not a difference of configuration.
    /// </summary>
    private static EmbedFigures BenchEmbed(IEmbedder embedder, string model, OnnxOptions onnxOptions, int repeats)
    {
        const int Batch = 32;
        var manifest = embedder.Manifest;
        var input = RandomInput(Batch * manifest.Preprocess.TensorLength);

        var output = new float[Batch * manifest.EmbeddingLength];
        var bytes = ModelCatalog.IsBuiltin(model) ? BuiltinDescriptorModel.BuildOnnx() : File.ReadAllBytes(manifest.OnnxPath);
        var threads = embedder is OnnxEmbedder onnx ? onnx.IntraOpThreads : onnxOptions.IntraOpThreads ?? 0;
        using var sessionOptions = OnnxEmbedder.CreateSessionOptions(onnxOptions, threads, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, manifest.Name);
        using var session = new InferenceSession(bytes, sessionOptions);
        long[] shape = [Batch, 3, manifest.Preprocess.Height, manifest.Preprocess.Width];
        var pairs = new List<(double Ours, double Bare)>();
        for (var r = 0; r < repeats; r++)
        {
            var ours = Throughput(Batch, () => embedder.Embed(input, Batch, output));
            var bare = Throughput(Batch, () =>
            {
                using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
                using var results = session.Run(new RunOptions(), [manifest.InputName], [value], [manifest.OutputName]);
                _ = results[0].GetTensorDataAsSpan<float>()[0];
            });
            pairs.Add((ours, bare));
        }

        var figures = new EmbedFigures(manifest.Name, Batch, MedianOf(pairs.Select(p => p.Ours)), MedianOf(pairs.Select(p => p.Bare)), MedianOf(pairs.Select(p => p.Ours / p.Bare)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Embedding ({manifest.Name}, batch {Batch}): ours {figures.Ours:0} img/s, bare ONNX Runtime loop {figures.BareOnnxRuntime:0} img/s, ratio {figures.Ratio:0.00} (median of {repeats} paired runs)"));
        return figures;
    }

    private sealed record EmbedFigures(string Model, int Batch, double Ours, double BareOnnxRuntime, double Ratio);

    /// <summary>A model input of normalised-pixel-like values in [-2, 2), the same in every call.</summary>
    private static float[] RandomInput(int length)
    {
        var random = new Random(1);
        var input = new float[length];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return input;
    }
}
