using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Embedding.Onnx;
using Icdiff.Index.Embedded;
using Icdiff.Synthesis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Pipeline.Tests;

/// <summary>
/// The path a Milvus-backed audit takes, run on the embedded candidate index: incremental builds by content id, then
/// two-stage scanning, checked against exhaustive exact scoring of the same embeddings.
/// </summary>
public sealed class CandidateIndexBuilderTests : IAsyncLifetime
{
    private ServiceProvider _services = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _services = PipelineServices.DecodingAndEmbedding()
            .AddFileSystemCorpora()
            .AddImagePipeline()
            .AddSingleton<CandidateIndexBuilder>()
            .AddSingleton<TwoStageScanner>()
            .BuildServiceProvider();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task Builds_AreIncrementalByContent_AndTwoStageScanningMatchesExhaustiveScoring()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-candidates-").FullName;
        var corpus = DemoCorpusBuilder.Build(root, DemoCorpusSpec.Small(17), null, Token);
        var galleryFiles = Directory.GetFiles(corpus.GalleryPath).Order(StringComparer.Ordinal).ToArray();
        // Hold five images back to add later, and drop a corrupt file in.
        var held = Path.Combine(root, "held");
        Directory.CreateDirectory(held);
        foreach (var file in galleryFiles.Take(5))
        {
            File.Move(file, Path.Combine(held, Path.GetFileName(file)));
        }

        await File.WriteAllBytesAsync(Path.Combine(corpus.GalleryPath, "broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3], Token);
        var provider = _services.GetRequiredService<ModelCatalog>();
        var embedder = provider.Get("builtin");
        var builder = _services.GetRequiredService<CandidateIndexBuilder>();
        var index = new EmbeddedCandidateIndex();
        var store = new InMemoryEmbeddingStore();
        var gallery = new LocalFolderCorpus(corpus.GalleryPath);

        var first = await builder.BuildAsync(gallery, embedder, index, store, 32, 1 << 26, Token);
        var again = await builder.BuildAsync(gallery, embedder, index, store, 32, 1 << 26, Token);
        foreach (var file in Directory.GetFiles(held))
        {
            File.Move(file, Path.Combine(corpus.GalleryPath, Path.GetFileName(file)));
        }

        File.Copy(galleryFiles[10], Path.Combine(corpus.GalleryPath, "same-content-other-name.png"));
        var grown = await builder.BuildAsync(gallery, embedder, index, store, 32, 1 << 26, Token);

        var size = corpus.Spec.GallerySize;
        Assert.Equal(size - 5 + 1, first.Listed);
        Assert.Equal(size - 5, first.Inserted);
        Assert.Equal("broken.png", Assert.Single(first.Skipped).Key);
        Assert.Equal(0, again.Inserted);
        Assert.Equal(size - 5, again.AlreadyIndexed);
        Assert.Equal(5, grown.Inserted);
        Assert.Equal(size - 5 + 1, grown.AlreadyIndexed);
        Assert.Equal(size, await index.CountAsync(Token));

        // Two-stage scan of a model's images against exhaustive scoring over every gallery embedding.
        var generated = new LocalFolderCorpus(corpus.ModelPaths["model-a"]);
        var items = new List<CorpusItem>();
        await foreach (var item in generated.ListAsync(Token))
        {
            items.Add(item);
        }

        var manifest = embedder.Manifest;
        var retriever = new TwoStageRetriever(index, store, manifest.Scoring, manifest.OutputTokens, manifest.OutputDim);
        var scanned = await _services.GetRequiredService<TwoStageScanner>().ScanAsync(generated, items, embedder, retriever, ReplicaCriterion.DefaultCandidates, Token);
        var plain = await _services.GetRequiredService<ImagePipeline>().ProcessAsync(new PipelineBatch(generated, items, embedder, null), Token);
        var all = await store.GetAsync([.. (await index.SearchAsync([new float[manifest.OutputDim]], size + 10, Token))[0].Select(h => h.Id)], Token);

        Assert.Equal(size, all.Count);
        var replicas = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var exhaustive = all.Values.Select(g => manifest.Scoring.Score(plain[i].Embedding, g)).Max();
            var match = scanned[i].Match!;
            Assert.Equal(exhaustive.Level, match.Level);
            Assert.Equal(exhaustive.Similarity, match.Similarity, 5);
            Assert.NotNull(match.GalleryKey);
            replicas += match.Level >= ReplicaCriterion.DefaultMinLevel ? 1 : 0;
        }

        Assert.True(replicas >= 5, $"only {replicas} replicas found; the corpus has 8 at level 4-5");
    }
}
