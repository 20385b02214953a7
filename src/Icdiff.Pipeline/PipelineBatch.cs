using Icdiff.Core;

namespace Icdiff.Pipeline;

/// <summary>
/// A batch of corpus items to push through the pipeline. Without a <see cref="Search"/> target the outcome
/// carries each embedding (gallery indexing); with one it carries the best gallery match (scanning).
/// <see cref="ContentIds"/> asks for the content id of each embedded item (a SHA-256 of its bytes).
/// </summary>
public sealed record PipelineBatch(ICorpusSource Source, IReadOnlyList<CorpusItem> Items, IEmbedder Embedder, SearchTarget? Search, bool ContentIds = false);
