using Icdiff.Core;
using Icdiff.Files;

namespace Icdiff.Corpora.Manifest;

/// <summary>Opens manifest files (see <see cref="ManifestLocation"/>); images are read by the registered content readers.</summary>
public sealed class ManifestCorpusProvider(IEnumerable<IContentReader> readers) : ICorpusSourceProvider
{
    private readonly IContentReader[] _readers = [.. readers];

    public bool CanOpen(string location) => ManifestLocation.Looks(location);

    public ICorpusSource Open(string location)
    {
        var parsed = ManifestLocation.Parse(location);
        var node = FileNode.Probe(parsed.Path);
        if (!node.Exists)
        {
            throw new CorpusException($"manifest '{parsed.Path}' does not exist.");
        }

        if (node.Kind != FileNodeKind.RegularFile)
        {
            throw new CorpusException($"manifest '{parsed.Path}' is {FileNode.Describe(node.Kind)}, not a regular file.");
        }

        return new ManifestCorpus(parsed, location, _readers);
    }

    /// <summary>The distinct model names of a manifest, in first-seen order (one streamed pass).</summary>
    public static async Task<IReadOnlyList<string>> ModelsAsync(string manifestPath, CancellationToken cancellationToken)
    {
        var models = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var row in ManifestReader.ReadAsync(manifestPath, cancellationToken))
            {
                if (row.Model is { } model && seen.Add(model))
                {
                    models.Add(model);
                }
            }
        }
        catch (ManifestFormatException ex)
        {
            throw new CorpusException(ex.Message, ex);
        }

        return models;
    }
}
