using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Icdiff.Embedding.Onnx.Graph;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Embedding.Onnx.Tests;

public sealed class OnnxEmbedderTests
{
    private static float[] RandomImages(int count, int size, int seed)
    {
        var random = new Random(seed);
        var data = new float[count * 3 * size * size];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return data;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    [Fact]
    public void BuiltinModel_RunsInOnnxRuntime_AndGivesUnitDescriptors()
    {
        var manifest = BuiltinDescriptorModel.CreateManifest("builtin");
        using var embedder = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance);
        const int N = 4;
        var input = RandomImages(N, BuiltinDescriptorModel.InputSize, 1);
        input.AsSpan(0, manifest.Preprocess.TensorLength).CopyTo(input.AsSpan(manifest.Preprocess.TensorLength));
        var output = new float[N * BuiltinDescriptorModel.Dim];

        embedder.Embed(input, N, output);

        var d = BuiltinDescriptorModel.Dim;
        for (var i = 0; i < N; i++)
        {
            Assert.Equal(1f, MathF.Sqrt(Dot(output.AsSpan(i * d, d), output.AsSpan(i * d, d))), 4);
        }

        Assert.Equal(1f, Dot(output.AsSpan(0, d), output.AsSpan(d, d)), 4);
        Assert.True(Dot(output.AsSpan(0, d), output.AsSpan(2 * d, d)) < 0.5f);
    }

    [Fact]
    public async Task Dispose_WaitsForBatchesInFlight_AndLaterBatchesAreRefused()
    {
        var manifest = BuiltinDescriptorModel.CreateManifest("builtin");
        var embedder = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance);
        const int N = 256;
        var input = RandomImages(N, BuiltinDescriptorModel.InputSize, 3);
        var output = new float[N * BuiltinDescriptorModel.Dim];
        var completed = new int[2];

        // Batches run back to back on other threads while the embedder is disposed, as pipeline threads do when a host stops.
        var loops = Enumerable.Range(0, completed.Length).Select(loop => Task.Run(() =>
        {
            var local = new float[output.Length];
            try
            {
                while (true)
                {
                    embedder.Embed(input, N, local);
                    Interlocked.Increment(ref completed[loop]);
                }
            }
            catch (ObjectDisposedException)
            {
                return Volatile.Read(ref completed[loop]);
            }
        })).ToArray();

        // Dispose once both loops are going (each has finished a batch and started the next).
        using (var patience = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
        {
            patience.CancelAfter(TimeSpan.FromSeconds(60));
            while (Volatile.Read(ref completed[0]) == 0 || Volatile.Read(ref completed[1]) == 0)
            {
                await Task.Delay(5, patience.Token);
            }
        }

        embedder.Dispose();
        var batches = await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.All(batches, b => Assert.True(b > 0));
        Assert.Throws<ObjectDisposedException>(() => embedder.Embed(input, N, output));
        embedder.Dispose(); // a second dispose is a no-op
    }

    [Fact]
    public void BuiltinModel_IsDeterministic()
    {
        Assert.Equal(BuiltinDescriptorModel.BuildOnnx(), BuiltinDescriptorModel.BuildOnnx());
    }

    [Fact]
    public void BuiltinModel_BrightnessShift_BarelyChangesTheDescriptor()
    {
        var manifest = BuiltinDescriptorModel.CreateManifest("builtin");
        using var embedder = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance);
        var length = manifest.Preprocess.TensorLength;
        var input = new float[2 * length];
        RandomImages(1, BuiltinDescriptorModel.InputSize, 2).CopyTo(input, 0);
        for (var i = 0; i < length; i++)
        {
            input[length + i] = input[i] + 0.3f;
        }

        var output = new float[2 * BuiltinDescriptorModel.Dim];
        embedder.Embed(input, 2, output);

        Assert.True(Dot(output.AsSpan(0, BuiltinDescriptorModel.Dim), output.AsSpan(BuiltinDescriptorModel.Dim)) > 0.99f);
    }

    /// <summary>
    /// A model in PDF's shape: six tokens of <paramref name="dim"/> per image (a 4x4 average pool, then a projection by
    /// weights drawn from <paramref name="seed"/>), scored by the argmax rule.
    /// </summary>
    private static OnnxEmbedder SixTokenEmbedder(int size, int dim, int seed)
    {
        var random = new Random(seed);
        var weights = Enumerable.Range(0, 3 * 4 * 4 * 6 * dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var onnx = new OnnxModelBuilder("pdf-like")
            .Input("pixels", null, 3, size, size)
            .Output("tokens", null, 6, dim)
            .Initializer("w", [3 * 4 * 4, 6 * dim], weights)
            .Int64Initializer("flat", [0, -1])
            .Int64Initializer("shape", [0, 6, dim])
            .Node("AveragePool", ["pixels"], ["pooled"], OnnxAttribute.Numbers("kernel_shape", 4, 4), OnnxAttribute.Numbers("strides", 4, 4))
            .Node("Reshape", ["pooled", "flat"], ["flat_out"])
            .Node("MatMul", ["flat_out", "w"], ["projected"])
            .Node("Reshape", ["projected", "shape"], ["tokens"])
            .Build("test", "six-token test model");
        var manifest = new ModelManifest("pdf-like", "pdf.onnx", "pixels", new PreprocessSpec(size, size, ResizeMode.Squash, size, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd), "tokens", 6, dim, new PdfArgmaxRule(), null);
        return new OnnxEmbedder(manifest, onnx, new OnnxOptions(), NullLogger.Instance);
    }

    [Fact]
    public void SixTokenModel_OutputsPerTokenNormalisedEmbeddings()
    {
        const int Size = 16;
        const int Dim = 8;
        using var embedder = SixTokenEmbedder(Size, Dim, 4);
        var manifest = embedder.Manifest;
        var output = new float[3 * 6 * Dim];

        embedder.Embed(RandomImages(3, Size, 5), 3, output);

        for (var t = 0; t < 3 * 6; t++)
        {
            Assert.Equal(1f, MathF.Sqrt(Dot(output.AsSpan(t * Dim, Dim), output.AsSpan(t * Dim, Dim))), 4);
        }

        Assert.Equal(5, manifest.Scoring.Score(output.AsSpan(0, 6 * Dim), output.AsSpan(0, 6 * Dim)).Level);
    }

    [Fact]
    public void SixTokenModel_IdenticalImagesInAnyBatchPosition_AlwaysGetLevelFive()
    {
        const int Size = 16;
        const int Dim = 64;
        using var embedder = SixTokenEmbedder(Size, Dim, 11);
        var manifest = embedder.Manifest;
        // The same 20 images embedded alone and inside a batch of 37: the batch position changes the last bits of
        // each cosine, which a plain argmax would turn into a level.
        var images = RandomImages(20, Size, 12);
        var imageLength = 3 * Size * Size;
        var alone = new float[6 * Dim];
        var batch = new float[37 * imageLength];
        for (var i = 0; i < 37; i++)
        {
            images.AsSpan((i % 20) * imageLength, imageLength).CopyTo(batch.AsSpan(i * imageLength));
        }

        var batchOut = new float[37 * 6 * Dim];
        embedder.Embed(batch, 37, batchOut);
        for (var i = 0; i < 20; i++)
        {
            embedder.Embed(images.AsMemory(i * imageLength, imageLength).ToArray(), 1, alone);
            foreach (var position in new[] { i, i + 20 }.Where(p => p < 37))
            {
                Assert.Equal(5, manifest.Scoring.Score(alone, batchOut.AsSpan(position * 6 * Dim, 6 * Dim)).Level);
            }
        }
    }

    [Fact]
    public void HalfPrecisionModel_TakesAndGivesFloat16_AndMatchesTheFloatModel()
    {
        const int Size = 16;
        byte[] Build(OnnxElementType type)
        {
            var b = new OnnxModelBuilder("pool").Input("pixels", type, null, 3, Size, Size).Output("pooled", type, null, 48).Int64Initializer("flat", [0, -1]);
            if (type == OnnxElementType.HalfPrecision)
            {
                return b.Node("Cast", ["pixels"], ["x"], OnnxAttribute.Number("to", (long)OnnxElementType.SinglePrecision))
                    .Node("AveragePool", ["x"], ["p"], OnnxAttribute.Numbers("kernel_shape", 4, 4), OnnxAttribute.Numbers("strides", 4, 4))
                    .Node("Reshape", ["p", "flat"], ["f"])
                    .Node("Cast", ["f"], ["pooled"], OnnxAttribute.Number("to", (long)OnnxElementType.HalfPrecision))
                    .Build("test", "fp16");
            }

            return b.Node("AveragePool", ["pixels"], ["p"], OnnxAttribute.Numbers("kernel_shape", 4, 4), OnnxAttribute.Numbers("strides", 4, 4))
                .Node("Reshape", ["p", "flat"], ["pooled"])
                .Build("test", "fp32");
        }

        var manifest = new ModelManifest("pool", "pool.onnx", "pixels", new PreprocessSpec(Size, Size, ResizeMode.Squash, Size, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd), "pooled", 1, 48, new CosineThresholdsRule([0.1f, 0.2f, 0.3f, 0.4f, 0.5f]), null);
        using var half = new OnnxEmbedder(manifest, Build(OnnxElementType.HalfPrecision), new OnnxOptions(), NullLogger.Instance);
        using var single = new OnnxEmbedder(manifest, Build(OnnxElementType.SinglePrecision), new OnnxOptions(), NullLogger.Instance);
        var input = RandomImages(2, Size, 9);
        var a = new float[2 * 48];
        var b = new float[2 * 48];

        half.Embed(input, 2, a);
        single.Embed(input, 2, b);

        Assert.True(Dot(a.AsSpan(0, 48), b.AsSpan(0, 48)) > 0.9999f);
        Assert.True(Dot(a.AsSpan(48), b.AsSpan(48)) > 0.9999f);
    }

    [Fact]
    public void Manifest_WithWrongOutputName_IsRejectedWithTheGraphsOutputs()
    {
        var manifest = BuiltinDescriptorModel.CreateManifest("builtin") with { OutputName = "embedding" };

        var error = Assert.Throws<ModelManifestException>(() => new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance));

        Assert.Contains("'embedding'", error.Message, StringComparison.Ordinal);
        Assert.Contains("descriptor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CudaRequested_WithoutCudaProvider_FallsBackToCpuAndSaysSo()
    {
        var logger = new RecordingLogger();
        using var embedder = new OnnxEmbedder(BuiltinDescriptorModel.CreateManifest("builtin"), BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions { ExecutionProvider = "cuda" }, logger);

        Assert.Contains(logger.Messages, m => m.Contains("falling back to CPU", StringComparison.Ordinal));
    }

    /// <summary>
    /// Unset threads: the embedder times the model on every core and runs a light one on one thread per inference,
    /// as many side by side as there are cores; a model costlier than the threshold keeps every core; an explicit
    /// setting is taken as it is, with no probe.
    /// </summary>
    [Fact]
    public void IntraOpThreads_Unset_AreChosenFromTheModelsMeasuredCost_ExplicitSettingsWin()
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, "one core: there is no layout to choose");
        var cores = Environment.ProcessorCount;
        var manifest = BuiltinDescriptorModel.CreateManifest("builtin");
        var input = new float[2 * manifest.Preprocess.TensorLength];
        input.AsSpan().Fill(0.25f);

        var logger = new RecordingLogger();
        using var light = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), logger);
        Assert.True(light.ProbedCoreMilliseconds is > 0 and < 4, $"the built-in model cost {light.ProbedCoreMilliseconds} core-ms per image");
        Assert.Equal((1, cores), (light.IntraOpThreads, light.ConcurrentBatches));
        Assert.Contains(logger.Messages, m => m.Contains("core-ms on every core", StringComparison.Ordinal) && m.Contains("one thread per inference", StringComparison.Ordinal));

        // The same model judged against a threshold below its cost is heavy: every core, one inference at a time.
        using var heavy = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions { LightModelMilliseconds = 1e-6 }, NullLogger.Instance);
        Assert.Equal((0, 1), (heavy.IntraOpThreads, heavy.ConcurrentBatches));

        var explicitLogger = new RecordingLogger();
        using var everyCore = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions { IntraOpThreads = 0 }, explicitLogger);
        Assert.Equal((0, 1, (double?)null), (everyCore.IntraOpThreads, everyCore.ConcurrentBatches, everyCore.ProbedCoreMilliseconds));
        Assert.DoesNotContain(explicitLogger.Messages, m => m.Contains("core-ms on every core", StringComparison.Ordinal));
        using var two = new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions { IntraOpThreads = 2 }, NullLogger.Instance);
        Assert.Equal(2, two.IntraOpThreads);

        // Whichever layout, the embeddings are the same.
        var a = new float[2 * manifest.EmbeddingLength];
        var b = new float[2 * manifest.EmbeddingLength];
        light.Embed(input, 2, a);
        everyCore.Embed(input, 2, b);
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(b[i], a[i], 4);
        }
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }
}
