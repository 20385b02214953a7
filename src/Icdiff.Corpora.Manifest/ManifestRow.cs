namespace Icdiff.Corpora.Manifest;

/// <summary>
/// One row of a corpus manifest. <see cref="Uri"/> is as written (relative paths are resolved against the
/// manifest's folder later); <see cref="Metadata"/> holds every column the reader does not interpret.
/// </summary>
public sealed record ManifestRow(
    long Line,
    string Uri,
    string? Model,
    string? Prompt,
    string? Key,
    string? Stamp,
    IReadOnlyDictionary<string, string> Metadata);
