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
