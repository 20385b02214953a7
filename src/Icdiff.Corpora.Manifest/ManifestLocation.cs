using Icdiff.Core;

namespace Icdiff.Corpora.Manifest;

/// <summary>
/// A manifest location: a path to a .csv, .jsonl or .parquet file, optionally written <c>manifest:path</c>, with an
/// optional <c>#model=name</c> that keeps only the rows of one model.
/// </summary>
public sealed record ManifestLocation(string Path, string? Model)
{
    public const string Scheme = "manifest:";
    private const string ModelFragment = "#model=";

    public static bool Looks(string location)
    {
        if (location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var path = StripFragment(location);
        return !path.Contains("://", StringComparison.Ordinal) && ManifestReader.IsManifestPath(path);
    }

    public static ManifestLocation Parse(string location)
    {
        var body = location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? location[Scheme.Length..] : location;
        string? model = null;
        var hash = body.LastIndexOf(ModelFragment, StringComparison.Ordinal);
        if (hash >= 0)
        {
            model = body[(hash + ModelFragment.Length)..];
            body = body[..hash];
            if (model.Length == 0)
            {
                throw new CorpusException($"manifest location '{location}' has an empty #model=.");
            }
        }

        if (!ManifestReader.IsManifestPath(body))
        {
            throw new CorpusException($"manifest '{body}' must end in .csv, .jsonl, .ndjson or .parquet.");
        }

        return new ManifestLocation(System.IO.Path.GetFullPath(body), model);
    }

    public static string WithModel(string manifestPath, string model) => $"{manifestPath}{ModelFragment}{model}";

    private static string StripFragment(string location)
    {
        var hash = location.LastIndexOf(ModelFragment, StringComparison.Ordinal);
        return hash >= 0 ? location[..hash] : location;
    }
}
