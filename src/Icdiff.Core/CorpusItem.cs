namespace Icdiff.Core;

/// <summary>
/// One image in a corpus. <see cref="Key"/> is stable across listings of the same corpus (a relative path
/// or blob name) and identifies the item in checkpoints and reports; <see cref="Stamp"/> changes when the
/// content does (size and modification time, or an ETag), so an index can tell new content from old.
/// </summary>
public sealed record CorpusItem(string Key, string Uri, long Length, string Stamp);
