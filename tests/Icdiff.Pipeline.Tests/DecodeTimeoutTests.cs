using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Embedding.Onnx;
using Icdiff.Synthesis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Pipeline.Tests;

/// <summary>
/// The per-image time limit, around a decoder that hangs on one file (a stand-in for a pathological image: the
/// code under test is the pipeline's guard, the real decoder does the rest).
/// </summary>
public sealed class DecodeTimeoutTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ImageThatDecodesPastTheLimit_IsSkippedAsTimedOut_AndTheOthersAreUnaffected()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-timeout-").FullName;
        var corpus = DemoCorpusBuilder.Build(root, DemoCorpusSpec.Small(3), null, Token);
        var files = Directory.GetFiles(corpus.GalleryPath).Order(StringComparer.Ordinal).Take(12).ToArray();
        var stuck = Path.GetFileName(files[5]);
        using var services = PipelineServices.DecodingAndEmbedding()
            .BuildServiceProvider();
        var real = services.GetRequiredService<IImageDecoder>();
        var release = new ManualResetEventSlim();
        var decoder = new HangingDecoder(real, files[5], release);
        var options = new PipelineOptions { DecodeWorkers = 2, DecodeTimeout = TimeSpan.FromSeconds(3) };
        await using var pipeline = new ImagePipeline(decoder, options, NullLogger<ImagePipeline>.Instance);
        var source = new LocalFolderCorpus(corpus.GalleryPath);
        var items = new List<CorpusItem>();
        await foreach (var item in source.ListAsync(Token))
        {
            if (files.Contains(item.Uri))
            {
                items.Add(item);
            }
        }

        var embedder = services.GetRequiredService<ModelCatalog>().Get("builtin");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), Token);
        var elapsed = clock.Elapsed;
        release.Set();

        var timedOut = Assert.Single(outcomes, o => o.Skipped);
        Assert.Equal(stuck, timedOut.Item.Key);
        Assert.Equal(SkipReason.TimedOut, timedOut.Skip);
        Assert.Contains("longer than 3 s", timedOut.Detail, StringComparison.Ordinal);
        Assert.All(outcomes.Where(o => !o.Skipped), o => Assert.NotNull(o.Embedding));
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"the batch waited for the hung decode ({elapsed})");

        // The pipeline goes on serving batches, the stuck image's worker having been given up on.
        var again = await pipeline.ProcessAsync(new PipelineBatch(source, items.Where(i => i.Key != stuck).ToArray(), embedder, null), Token);
        Assert.All(again, o => Assert.False(o.Skipped));
    }

    private sealed class HangingDecoder(IImageDecoder inner, string hangOn, ManualResetEventSlim release) : IImageDecoder
    {
        private readonly byte[] _hangOn = File.ReadAllBytes(hangOn);

        public DecodeResult Decode(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
        {
            if (encoded.SequenceEqual(_hangOn))
            {
                release.Wait(TimeSpan.FromSeconds(60));
            }

            return inner.Decode(encoded, spec, destination);
        }
    }
}
