using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Embedding.Onnx;
using Icdiff.Synthesis;
using Icdiff.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Pipeline.Tests;

/// <summary>
/// The per-image read time limit, on a read that really blocks: a source that opens a real FIFO with nobody writing
/// (what a file swapped for a FIFO after its check, or a hung mount, does to a read). The item is skipped as
/// <c>TimedOut</c> with its reason, the others are embedded, and the pipeline goes on serving.
/// </summary>
public sealed class ReadTimeoutTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReadThatNeverReturns_IsSkippedAsTimedOut_AndTheOthersAreUnaffected()
    {
        Assert.SkipWhen(SpecialFiles.SkipReason is not null, SpecialFiles.SkipReason ?? "");
        var root = Directory.CreateTempSubdirectory("icdiff-read-timeout-").FullName;
        var corpus = DemoCorpusBuilder.Build(root, DemoCorpusSpec.Small(4), null, Token);
        var fifo = SpecialFiles.MakeFifo(Path.Combine(root, "stuck.fifo"));
        using var services = PipelineServices.DecodingAndEmbedding()
            .BuildServiceProvider();
        var options = new PipelineOptions { DecodeWorkers = 2, ReadTimeout = TimeSpan.FromSeconds(2) };
        await using var pipeline = new ImagePipeline(services.GetRequiredService<IImageDecoder>(), options, NullLogger<ImagePipeline>.Instance);
        var folder = new LocalFolderCorpus(corpus.GalleryPath);
        var items = new List<CorpusItem>();
        await foreach (var item in folder.ListAsync(Token))
        {
            if (items.Count < 8)
            {
                items.Add(item);
            }
        }

        var stuck = items[3];
        var source = new FifoAt(folder, stuck.Key, fifo);
        var embedder = services.GetRequiredService<ModelCatalog>().Get("builtin");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        var elapsed = clock.Elapsed;

        var timedOut = Assert.Single(outcomes, o => o.Skipped);
        Assert.Equal(stuck.Key, timedOut.Item.Key);
        Assert.Equal(SkipReason.TimedOut, timedOut.Skip);
        Assert.Equal("reading took longer than 2 s", timedOut.Detail);
        Assert.All(outcomes.Where(o => !o.Skipped), o => Assert.NotNull(o.Embedding));
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"the batch waited for the blocked read ({elapsed})");

        var again = await pipeline.ProcessAsync(new PipelineBatch(folder, items, embedder, null), Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        Assert.All(again, o => Assert.False(o.Skipped));

        // Let the abandoned open return (a writer appears, then goes), so the test leaves no thread blocked behind it.
        await using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
    }

    /// <summary>A folder whose item <paramref name="key"/> is read by opening a FIFO, past any check: the open blocks.</summary>
    private sealed class FifoAt(LocalFolderCorpus inner, string key, string fifo) : ICorpusSource
    {
        public string Location => inner.Location;

        public IAsyncEnumerable<CorpusItem> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
            item.Key == key ? ValueTask.FromResult(File.ReadAllBytes(fifo)) : inner.ReadAsync(item, maxBytes, cancellationToken);

        public ValueTask<ItemContent> ReadContentAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
            item.Key == key ? ValueTask.FromResult(ItemContent.Owned(File.ReadAllBytes(fifo))) : inner.ReadContentAsync(item, maxBytes, cancellationToken);
    }
}
