using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class TwoStageRetrievalTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void MaxTokenCosine_TakesTheBestSameTokenCosine_AndLevelsItByThresholds()
    {
        var rule = new MaxTokenCosineRule(2, [0.1f, 0.2f, 0.3f, 0.8f, 0.95f]);
        // Token 0 agrees at 0.6, token 1 at 0.9; the cross pairs (token 0 vs token 1) would give 1.0 and must not count.
        float[] a = [1, 0, 0.6f, 0.8f];
        float[] b = [0.6f, 0.8f, 0.6f * 0.9f + 0.8f * 0.4359f, 0.8f * 0.9f - 0.6f * 0.4359f];

        var score = rule.Score(a, b);

        Assert.Equal(0.9f, score.Similarity, 3);
        Assert.Equal(4, score.Level);
        Assert.Throws<ArgumentException>(() => rule.Score([1, 0, 0], [1, 0, 0]));
    }

    [Fact]
    public void MaxTokenCosine_RoundTripsThroughAManifest()
    {
        const string json = """{ "name": "m", "onnx": "m.onnx", "input": {"width": 64, "height": 64}, "output": {"tokens": 3, "dim": 8}, "scoring": {"rule": "max-token-cosine", "thresholds": [0.1, 0.2, 0.3, 0.4, 0.5]} }""";

        var manifest = ModelManifestJson.Parse(json, "m.json", "/tmp");
        var again = ModelManifestJson.Parse(ModelManifestJson.Serialize(manifest, "/tmp"), "m.json", "/tmp");

        var rule = Assert.IsType<MaxTokenCosineRule>(again.Scoring);
        Assert.Equal(3, rule.Tokens);
        Assert.Equal([0.1f, 0.2f, 0.3f, 0.4f, 0.5f], rule.Thresholds);
    }

    [Fact]
    public void GalleryIds_AreBelow2To53_StableAndContentBased()
    {
        var a = GalleryIds.FromContent([1, 2, 3]);

        Assert.Equal(a, GalleryIds.FromContent([1, 2, 3]));
        Assert.NotEqual(a, GalleryIds.FromContent([1, 2, 4]));
        Assert.InRange(a, 0, GalleryIds.Limit - 1);
        Assert.All(Enumerable.Range(0, 1000), i => Assert.InRange(GalleryIds.FromContent(BitConverter.GetBytes(i)), 0, GalleryIds.Limit - 1));
    }

    [Fact]
    public async Task Retriever_RescoresTheProxyCandidatesExactly_AndSkipsCandidatesWithoutEmbeddings()
    {
        // Gallery 1 is the proxy's favourite; gallery 2 wins on the exact rule (token 1 agrees fully).
        var rule = new MaxTokenCosineRule(2, [0.1f, 0.2f, 0.3f, 0.8f, 0.99f]);
        float[] query = [1, 0, 0, 1];
        var index = new FixedCandidates([new VectorHit(1, 0.9f), new VectorHit(2, 0.8f), new VectorHit(3, 0.7f)]);
        var store = new Store(new Dictionary<long, float[]> { [1] = [0.9f, 0.4359f, 0.4359f, 0.9f], [2] = [0, 1, 0, 1] });
        var retriever = new TwoStageRetriever(index, store, rule, 2, 2);

        var best = (await retriever.FindBestAsync([query], 3, Token)).Single();

        Assert.Equal(2, best.GalleryId);
        Assert.Equal(5, best.Score.Level);
        Assert.Equal(2, best.CandidatesScored);
        Assert.Equal(3, index.LastK);
    }

    [Fact]
    public async Task Retriever_CopiesUnderSeveralIds_MatchTheSmallestSourceKey()
    {
        // Identical pixels in different bytes are separate ids with equal embeddings: the smaller source key wins,
        // not the first candidate or the smaller id.
        var rule = new CosineThresholdsRule([0.5f, 0.6f, 0.7f, 0.8f, 0.9f]);
        float[] image = [0.6f, 0.8f];
        var index = new FixedCandidates([new VectorHit(10, 1f, "photos/x.png"), new VectorHit(30, 1f, "mirror/x.png"), new VectorHit(20, 0.2f, "other.png")]);
        var store = new Store(new Dictionary<long, float[]> { [10] = image, [20] = [1, 0], [30] = image });
        var retriever = new TwoStageRetriever(index, store, rule, 1, 2);

        var best = (await retriever.FindBestAsync([image], 3, Token)).Single();

        Assert.Equal((30L, "mirror/x.png", 5, 3), (best.GalleryId, best.Source, best.Score.Level, best.CandidatesScored));
    }

    private sealed class FixedCandidates(IReadOnlyList<VectorHit> hits) : ICandidateIndex
    {
        public int LastK { get; private set; }

        public string Description => "fixed";

        public Task EnsureReadyAsync(int dim, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyList<long>> MissingAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken) => Task.FromResult(ids);

        public Task UpsertAsync(IReadOnlyList<GalleryVector> vectors, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeleteAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<long> CountAsync(CancellationToken cancellationToken) => Task.FromResult((long)hits.Count);

        public Task<IReadOnlyList<IReadOnlyList<VectorHit>>> SearchAsync(IReadOnlyList<float[]> queries, int k, CancellationToken cancellationToken)
        {
            LastK = k;
            return Task.FromResult<IReadOnlyList<IReadOnlyList<VectorHit>>>([.. queries.Select(_ => hits)]);
        }
    }

    private sealed class Store(Dictionary<long, float[]> embeddings) : IEmbeddingStore
    {
        public Task PutAsync(IReadOnlyList<(long Id, float[] Embedding)> items, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyDictionary<long, float[]>> GetAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<long, float[]>>(ids.Where(embeddings.ContainsKey).ToDictionary(i => i, i => embeddings[i]));
    }
}
