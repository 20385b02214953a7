using Icdiff.Core;

namespace Icdiff.Pipeline;

/// <summary>What one build of a candidate index did; every listed item is in exactly one of the counts.</summary>
public sealed record IndexBuildReport(int Listed, int AlreadyIndexed, int Inserted, int DuplicateContent, IReadOnlyList<(string Key, SkipReason Reason, string? Detail)> Skipped);

/// <summary>
/// Fills a candidate index (embedded or Milvus) and its side store of full embeddings from a gallery, incrementally:
/// gallery ids come from image content, so an image already indexed, under any name, is neither embedded nor sent
/// again, and re-running a build over an unchanged gallery inserts nothing. Listing is streamed in chunks; the
/// bytes are read once to hash them and again by the pipeline for the few that are new.
/// </summary>
public sealed class CandidateIndexBuilder(ImagePipeline pipeline)
{
    public async Task<IndexBuildReport> BuildAsync(ICorpusSource gallery, IEmbedder embedder, ICandidateIndex index, IEmbeddingStore store, int chunkSize, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        var manifest = embedder.Manifest;
        await index.EnsureReadyAsync(manifest.OutputDim, cancellationToken);
        int listed = 0, already = 0, inserted = 0, duplicates = 0;
        var skipped = new List<(string, SkipReason, string?)>();
        var chunk = new List<CorpusItem>(chunkSize);
        await foreach (var item in gallery.ListAsync(cancellationToken))
        {
            chunk.Add(item);
            if (chunk.Count == chunkSize)
            {
                await FlushAsync();
            }
        }

        await FlushAsync();
        return new IndexBuildReport(listed, already, inserted, duplicates, skipped);

        async Task FlushAsync()
        {
            if (chunk.Count == 0)
            {
                return;
            }

            listed += chunk.Count;
            var ids = new long?[chunk.Count];
            await Parallel.ForAsync(0, chunk.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount * 2 }, async (i, ct) =>
            {
                try
                {
                    ids[i] = GalleryIds.FromContent(await gallery.ReadAsync(chunk[i], maxBytes, ct));
                }
                catch (ItemReadException ex)
                {
                    lock (skipped)
                    {
                        skipped.Add((chunk[i].Key, ex.Reason, ex.Message));
                    }
                }
            });

            var readable = Enumerable.Range(0, chunk.Count).Where(i => ids[i] is not null).ToArray();
            var missing = (await index.MissingAsync([.. readable.Select(i => ids[i]!.Value).Distinct()], cancellationToken)).ToHashSet();
            var firstOfContent = new HashSet<long>();
            var fresh = new List<CorpusItem>();
            foreach (var i in readable)
            {
                var id = ids[i]!.Value;
                if (!missing.Contains(id))
                {
                    already++;
                }
                else if (!firstOfContent.Add(id))
                {
                    duplicates++;
                }
                else
                {
                    fresh.Add(chunk[i]);
                }
            }

            chunk.Clear();
            if (fresh.Count == 0)
            {
                return;
            }

            var outcomes = await pipeline.ProcessAsync(new PipelineBatch(gallery, fresh, embedder, null, ContentIds: true), cancellationToken);
            var vectors = new List<GalleryVector>(outcomes.Count);
            var embeddings = new List<(long, float[])>(outcomes.Count);
            foreach (var outcome in outcomes)
            {
                if (outcome.Skipped)
                {
                    skipped.Add((outcome.Item.Key, outcome.Skip, outcome.Detail));
                    continue;
                }

                // The id of the bytes the pipeline read: if the file changed since it was hashed, the new content is what was embedded.
                var id = outcome.ContentId!.Value;
                var proxy = new float[manifest.OutputDim];
                EmbeddingMath.Proxy(outcome.Embedding, manifest.OutputTokens, proxy);
                vectors.Add(new GalleryVector(id, outcome.Item.Key, proxy));
                embeddings.Add((id, outcome.Embedding!));
            }

            // Full embeddings first: an id in the index whose embedding is missing could not be re-scored.
            await store.PutAsync(embeddings, cancellationToken);
            await index.UpsertAsync(vectors, cancellationToken);
            inserted += vectors.Count;
        }
    }
}

/// <summary>
/// Scans generated images against a candidate index: the pipeline embeds them, then <see cref="TwoStageRetriever"/>
/// takes the proxy top-k and re-scores it exactly. The path audits take when the gallery lives in Milvus.
/// </summary>
public sealed class TwoStageScanner(ImagePipeline pipeline)
{
    public async Task<IReadOnlyList<ItemOutcome>> ScanAsync(ICorpusSource source, IReadOnlyList<CorpusItem> items, IEmbedder embedder, TwoStageRetriever retriever, int k, CancellationToken cancellationToken)
    {
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), cancellationToken);
        var embedded = outcomes.Where(o => !o.Skipped).ToArray();
        var matches = await retriever.FindBestAsync([.. embedded.Select(o => o.Embedding!)], k, cancellationToken);
        var byItem = new Dictionary<CorpusItem, MatchResult>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < embedded.Length; i++)
        {
            var m = matches[i];
            byItem[embedded[i].Item] = m.GalleryId < 0
                ? new MatchResult(null, ReplicationLevels.None, 0, 0)
                : new MatchResult(m.Source, m.Score.Level, m.Score.Similarity, 0);
        }

        return [.. outcomes.Select(o => o.Skipped ? o : o with { Embedding = null, Match = byItem[o.Item] })];
    }
}
