using Icdiff.Core;
using Icdiff.Index.Embedded;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Pipeline.Tests;

/// <summary>
/// The search stage against a gallery holding copies of the generated image: exact copies (equal scores) and one copy
/// whose embedding differs by float noise, added to the index in every order. The decoder and model are stand-ins
/// that give every image the same embedding; the index, the top-k cut and the re-scoring are the real ones.
/// </summary>
public sealed class ImagePipelineTests
{
    private const int Dim = 16;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Level 5 from 0.9999985: the exact copies (cosine 1) reach it, the noisy copy (about 0.999997) does not.</summary>
    private static readonly CosineThresholdsRule Rule = new([0.5f, 0.6f, 0.7f, 0.8f, 0.9999985f]);

    private static readonly float[] Image = Unit(Enumerable.Range(1, Dim).Select(i => (float)Math.Sin(i)).ToArray());

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task CopiesInTheGallery_MatchTheSmallestKey_WhateverOrderTheyWereIndexedIn(int candidates)
    {
        // "a/noisy" is a copy whose cosine falls ~3e-6 short (within the tie tolerance, below the level-5 threshold).
        // With one candidate the proxy cut keeps the best exact copy, the smallest of the exactly equal keys; with
        // eight, the noisy copy is re-scored too and wins the tie by its key, with its own level and cosine.
        var noisy = Noisy(Image, 3e-6f);
        (string Key, float[] Vector)[] copies = [("zz/copy", Image), ("m/copy", Image), ("b/copy", Image), ("a/noisy", noisy)];
        var random = new Random(candidates);
        var fillers = Enumerable.Range(0, 20).Select(i => ($"filler-{i:D2}", Unit([.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble() - 0.5f)]))).ToArray();
        var expected = candidates == 1
            ? new MatchResult("b/copy", 5, Rule.Score(Image, Image).Similarity, 0)
            : new MatchResult("a/noisy", 4, Rule.Score(Image, noisy).Similarity, 0);
        Assert.Equal(4, Rule.Score(Image, noisy).Level);

        await using var pipeline = new ImagePipeline(new BlankDecoder(), new PipelineOptions { DecodeWorkers = 1 }, NullLogger<ImagePipeline>.Instance);
        using var embedder = new ConstantEmbedder(Image);
        for (var order = 0; order < 8; order++)
        {
            var entries = copies.Concat(fillers).ToArray();
            random.Shuffle(entries);
            var index = new EmbeddedVectorIndex(1, Dim);
            foreach (var (key, vector) in entries)
            {
                index.Add(key, "stamp", vector);
            }

            var outcomes = await pipeline.ProcessAsync(new PipelineBatch(new OneFileSource(), [new CorpusItem("generated.png", "generated.png", 1, "stamp")], embedder, new SearchTarget(index, Rule, candidates)), Token);

            var match = Assert.Single(outcomes).Match!;
            Assert.Equal(expected with { GalleryStamp = "stamp" }, match with { ProxyScore = 0, AltGalleryKey = null, AltLevel = -1 });
            // One vector, a level that follows the cosine: the max-level rule (recorded beside top-1) picks the same copy.
            Assert.Equal((expected.GalleryKey, expected.Level), (match.AltGalleryKey, match.AltLevel));
        }
    }

    /// <summary>
    /// The inference stage runs as many batches at once as the embedder says it runs well (within one loop per core),
    /// and an explicit <see cref="PipelineOptions.InferenceWorkers"/> wins over the embedder. Measured on a stand-in
    /// embedder that counts the calls inside it (a unit test of the stage's scheduling, not of a model).
    /// </summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(16, 0)]
    [InlineData(1, 3)]
    [InlineData(4, 1)]
    public async Task InferenceStage_RunsAsManyBatchesAtOnceAsTheEmbedderRunsWell_AndAnExplicitSettingWins(int embedderConcurrency, int inferenceWorkers)
    {
        // Enough pool threads that no loop waits for one (the stand-in embedder blocks its thread, as inference does).
        ThreadPool.GetMinThreads(out var pool, out var io);
        ThreadPool.SetMinThreads(Math.Max(pool, 32), io);
        var options = new PipelineOptions { DecodeWorkers = 4, EmbedBatchSize = 2, InferenceWorkers = inferenceWorkers };
        var expected = inferenceWorkers > 0 ? inferenceWorkers : Math.Clamp(embedderConcurrency, 1, Environment.ProcessorCount);
        Assert.Equal(expected, options.InferenceWorkersFor(new CountingEmbedder(embedderConcurrency)));
        await using var pipeline = new ImagePipeline(new BlankDecoder(), options, NullLogger<ImagePipeline>.Instance);
        using var embedder = new CountingEmbedder(embedderConcurrency);
        var items = Enumerable.Range(0, 16 * expected * options.EmbedBatchSize).Select(i => new CorpusItem($"{i}.png", $"{i}.png", 1, "stamp")).ToArray();

        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(new OneFileSource(), items, embedder, null), Token);

        Assert.Equal(items.Length, outcomes.Count(o => !o.Skipped && o.Embedding is not null));
        Assert.Equal(expected, embedder.MostAtOnce);
    }

    /// <summary>
    /// Chosen by the pipeline, a second inference starts only while the queue before inference is half full: a model
    /// much cheaper than decoding (30 ms a batch against 50 ms an image on each of four decoders) mostly runs one batch
    /// at a time although its embedder could run two, and leaves the cores to the decoders.
    /// </summary>
    [Fact]
    public async Task InferenceStage_ChosenByThePipeline_RunsALightModelOneBatchAtATime()
    {
        // The stand-in decoders block their threads: enough pool threads that the inference loops are not starved of
        // one (a starved loop lets the queue fill, and then a second inference is rightly admitted).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
        var chosen = await OverlapAsync(new PipelineOptions { DecodeWorkers = 4, EmbedBatchSize = 16 });
        TestContext.Current.TestOutputHelper?.WriteLine($"batches beside another: {chosen.Overlapped} of {chosen.Calls}");
        Assert.True(chosen.Overlapped * 4 <= chosen.Calls, $"{chosen.Overlapped} of {chosen.Calls} batches ran beside another");

        static async Task<(int Calls, int Overlapped)> OverlapAsync(PipelineOptions options)
        {
            await using var pipeline = new ImagePipeline(new SlowDecoder(TimeSpan.FromMilliseconds(50)), options, NullLogger<ImagePipeline>.Instance);
            using var embedder = new CountingEmbedder(2, TimeSpan.FromMilliseconds(30));
            var items = Enumerable.Range(0, 160).Select(i => new CorpusItem($"{i}.png", $"{i}.png", 1, "stamp")).ToArray();
            var outcomes = await pipeline.ProcessAsync(new PipelineBatch(new OneFileSource(), items, embedder, null), Token);
            Assert.Equal(items.Length, outcomes.Count(o => !o.Skipped));
            return (embedder.Calls, embedder.Overlapped);
        }
    }

    /// <summary>The gate's rule itself: adaptive, a second batch waits for a backlog; fixed, the width alone counts.</summary>
    [Fact]
    public async Task InferenceGate_AdmitsASecondBatchOnlyForABacklog_WhenAdaptive_AndUpToItsWidthWhenFixed()
    {
        var waiting = 0;
        var adaptive = new InferenceGate(2, adaptive: true, () => Volatile.Read(ref waiting), backlog: 32);
        var recheck = TimeSpan.FromMilliseconds(5);
        await adaptive.EnterAsync(recheck, Token);
        var second = adaptive.EnterAsync(recheck, Token);
        await Task.Delay(100, Token);
        Assert.False(second.IsCompleted);
        Volatile.Write(ref waiting, 32);
        await second.WaitAsync(TimeSpan.FromSeconds(5), Token);
        var third = adaptive.EnterAsync(recheck, Token);
        await Task.Delay(100, Token);
        Assert.False(third.IsCompleted);
        adaptive.Exit();
        await third.WaitAsync(TimeSpan.FromSeconds(5), Token);

        // With no backlog a parked batch still runs as soon as the running one ends.
        Volatile.Write(ref waiting, 0);
        adaptive.Exit();
        adaptive.Exit();
        await adaptive.EnterAsync(recheck, Token);
        var next = adaptive.EnterAsync(recheck, Token);
        await Task.Delay(50, Token);
        Assert.False(next.IsCompleted);
        adaptive.Exit();
        await next.WaitAsync(TimeSpan.FromSeconds(5), Token);

        var fixedWidth = new InferenceGate(3, adaptive: false, () => 0, backlog: 32);
        for (var i = 0; i < 3; i++)
        {
            await fixedWidth.EnterAsync(recheck, Token).WaitAsync(TimeSpan.FromSeconds(5), Token);
        }

        var fourth = fixedWidth.EnterAsync(recheck, Token);
        await Task.Delay(100, Token);
        Assert.False(fourth.IsCompleted);
        fixedWidth.Exit();
        await fourth.WaitAsync(TimeSpan.FromSeconds(5), Token);
    }

    private sealed class SlowDecoder(TimeSpan cost) : IImageDecoder
    {
        public DecodeResult Decode(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
        {
            Thread.Sleep(cost);
            destination[..spec.TensorLength].Clear();
            return DecodeResult.Ok(1, 1);
        }
    }

    /// <summary>Gives a fixed embedding after a delay (50 ms unless told), and records how many calls were inside it at once.</summary>
    private sealed class CountingEmbedder(int concurrentBatches, TimeSpan? cost = null) : IEmbedder
    {
        private int _inside;
        private int _most;
        private int _calls;
        private int _overlapped;

        public ModelManifest Manifest { get; } = new("counting", "none.onnx", "pixels", new PreprocessSpec(2, 2, ResizeMode.Squash, 2, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd), "out", 1, Dim, Rule, null);

        public string Fingerprint => "counting";

        public int ConcurrentBatches => concurrentBatches;

        public int MostAtOnce => Volatile.Read(ref _most);

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>Calls that began while another was inside.</summary>
        public int Overlapped => Volatile.Read(ref _overlapped);

        public void Embed(Memory<float> inputs, int count, Memory<float> outputs)
        {
            var now = Interlocked.Increment(ref _inside);
            Interlocked.Increment(ref _calls);
            if (now > 1)
            {
                Interlocked.Increment(ref _overlapped);
            }

            for (var seen = Volatile.Read(ref _most); now > seen && Interlocked.CompareExchange(ref _most, now, seen) != seen; seen = Volatile.Read(ref _most))
            {
            }

            Thread.Sleep(cost ?? TimeSpan.FromMilliseconds(50));
            for (var i = 0; i < count; i++)
            {
                Image.CopyTo(outputs.Span.Slice(i * Dim, Dim));
            }

            Interlocked.Decrement(ref _inside);
        }

        public void Dispose()
        {
        }
    }

    private static float[] Unit(float[] v)
    {
        EmbeddingMath.NormaliseTokens(v, 1);
        return v;
    }

    /// <summary>A unit vector whose cosine with <paramref name="v"/> is 1 - <paramref name="shortfall"/> (to float precision).</summary>
    private static float[] Noisy(float[] v, float shortfall)
    {
        // v + e * u with u orthogonal to v: the cosine is 1 / sqrt(1 + e^2), about 1 - e^2 / 2.
        var u = new float[Dim];
        u[0] = v[1];
        u[1] = -v[0];
        Unit(u);
        var e = MathF.Sqrt(2 * shortfall);
        return Unit([.. v.Select((x, i) => x + (e * u[i]))]);
    }

    private sealed class BlankDecoder : IImageDecoder
    {
        public DecodeResult Decode(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
        {
            destination[..spec.TensorLength].Clear();
            return DecodeResult.Ok(1, 1);
        }
    }

    private sealed class ConstantEmbedder(float[] embedding) : IEmbedder
    {
        public ModelManifest Manifest { get; } = new("constant", "none.onnx", "pixels", new PreprocessSpec(2, 2, ResizeMode.Squash, 2, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd), "out", 1, Dim, Rule, null);

        public string Fingerprint => "constant";

        public void Embed(Memory<float> inputs, int count, Memory<float> outputs)
        {
            for (var i = 0; i < count; i++)
            {
                embedding.CopyTo(outputs.Span.Slice(i * Dim, Dim));
            }
        }

        public void Dispose()
        {
        }
    }

    private sealed class OneFileSource : ICorpusSource
    {
        public string Location => "memory";

        public IAsyncEnumerable<CorpusItem> ListAsync(CancellationToken cancellationToken) => throw new NotSupportedException("the test hands items over directly");

        public ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) => ValueTask.FromResult(new byte[] { 1 });
    }
}
