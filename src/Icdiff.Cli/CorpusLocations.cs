using Icdiff.Core;
using Icdiff.Files;
using Icdiff.Corpora.Manifest;
using Icdiff.Grains;

namespace Icdiff.Cli;

/// <summary>
/// Corpus locations as a run records them: absolute, so a resume from another directory reads the same files, and with
/// the identity of the folder behind each (device, inode, birth time), so a resume that finds another folder under the
/// same path stops instead of mixing its files into the recorded results. A manifest's identity is its folder's (where
/// its relative paths resolve), so editing the manifest keeps it; blob locations are absolute already.
/// </summary>
internal static class CorpusLocations
{
    private const string FileScheme = "file://";
    private const string ModelFragment = "#model=";

    /// <summary>The location with its path made absolute (against the current directory); URIs of other schemes as given.</summary>
    public static string Absolute(string location)
    {
        if (location.StartsWith(ManifestLocation.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return ManifestLocation.Scheme + Absolute(location[ManifestLocation.Scheme.Length..]);
        }

        if (location.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase))
        {
            return Path.GetFullPath(new Uri(location).LocalPath);
        }

        if (location.Contains("://", StringComparison.Ordinal) || location.Length == 0)
        {
            return location;
        }

        var hash = location.LastIndexOf(ModelFragment, StringComparison.Ordinal);
        return hash >= 0 ? Path.GetFullPath(location[..hash]) + location[hash..] : Path.GetFullPath(location);
    }

    /// <summary>The request with every location absolute and the identities of the local ones recorded.</summary>
    public static AuditRequest Canonical(AuditRequest request)
    {
        var gallery = Absolute(request.GalleryLocation);
        var generated = request.Generated.Select(m => m with { Location = Absolute(m.Location) }).ToList();
        var identities = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var location in generated.Select(m => m.Location).Prepend(gallery))
        {
            if (Identity(location) is { } identity)
            {
                identities[location] = identity;
            }
        }

        return request with { GalleryLocation = gallery, Generated = generated, CorpusIdentities = identities };
    }

    /// <summary>
    /// Throws a <see cref="CliError"/> when a location of a stored run cannot be resumed from here: it was recorded
    /// relative (by an older build: the directory it was relative to is unknown), or the folder now found there is not
    /// the one the run audited.
    /// </summary>
    public static void RequireSameCorpora(string runId, AuditRequest request)
    {
        foreach (var (option, location) in request.Generated.Select(m => ($"model {m.Model}", m.Location)).Prepend(("gallery", request.GalleryLocation)))
        {
            if (Folder(location) is not { } folder)
            {
                continue;
            }

            if (!Path.IsPathRooted(folder))
            {
                throw new CliError($"run {runId} recorded its {option} as the relative path '{location}', and the directory it was relative to is unknown; start a new audit with that corpus.");
            }

            if (request.CorpusIdentities?.GetValueOrDefault(location) is not { } recorded)
            {
                continue;
            }

            var now = Identity(location);
            if (now is null)
            {
                throw new CliError($"run {runId}: its {option} '{location}' is gone; restore it there to resume the run.");
            }

            if (!string.Equals(now, recorded, StringComparison.Ordinal))
            {
                throw new CliError($"run {runId}: the {option} at '{location}' is not the folder the run audited (it was replaced or moved since the run started); resuming would mix its files into the recorded results. Restore the original folder there, or start a new audit.");
            }
        }
    }

    /// <summary>The identity of the folder behind a local location, or null (a blob location, or nothing there).</summary>
    private static string? Identity(string location) =>
        Folder(location) is { } folder && FileNode.Probe(folder) is { Kind: FileNodeKind.Directory } node ? node.Identity : null;

    /// <summary>The local folder a location reads from: the folder itself, or a manifest's folder; null for other schemes.</summary>
    private static string? Folder(string location)
    {
        if (ManifestLocation.Looks(location))
        {
            var body = location.StartsWith(ManifestLocation.Scheme, StringComparison.OrdinalIgnoreCase) ? location[ManifestLocation.Scheme.Length..] : location;
            var hash = body.LastIndexOf(ModelFragment, StringComparison.Ordinal);
            var path = hash >= 0 ? body[..hash] : body;
            return Path.GetDirectoryName(path) is { Length: > 0 } directory ? directory : ".";
        }

        if (location.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase))
        {
            return new Uri(location).LocalPath;
        }

        return location.Contains("://", StringComparison.Ordinal) ? null : location;
    }
}
