using System.Globalization;
using System.Runtime.CompilerServices;
using Icdiff.Core;

namespace Icdiff.Corpora.FileSystem;

/// <summary>
/// Every regular, non-hidden file under a folder, recursively. Listing is streamed one directory at a time and
/// sorted within each directory (ordinal), so two listings of an unchanged folder give the same order, which
/// shard planning and resuming rely on. Files that are not images are listed too: the decoder skips them with
/// a reason, so nothing in the folder disappears from the account silently.
/// </summary>
public sealed class LocalFolderCorpus : ICorpusSource
{
    private readonly string _root;

    public LocalFolderCorpus(string location)
    {
        Location = location;
        _root = Path.GetFullPath(location);
    }

    public string Location { get; }

    public async IAsyncEnumerable<CorpusItem> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pending = new Stack<string>();
        pending.Push(_root);
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var directory = pending.Pop();
            var info = new DirectoryInfo(directory);
            FileSystemInfo[] entries;
            try
            {
                entries = info.GetFileSystemInfos();
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
            {
                // An unreadable sub-folder cannot list its files, so there is nothing to count; the root is checked on open.
                continue;
            }

            Array.Sort(entries, (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var subdirectories = new List<string>();
            foreach (var entry in entries)
            {
                if (entry.Name.StartsWith('.'))
                {
                    continue;
                }

                if (entry is DirectoryInfo sub)
                {
                    if (!sub.Attributes.HasFlag(FileAttributes.ReparsePoint))
                    {
                        subdirectories.Add(sub.FullName);
                    }

                    continue;
                }

                if (entry is FileInfo file)
                {
                    yield return ToItem(file);
                }
            }

            for (var i = subdirectories.Count - 1; i >= 0; i--)
            {
                pending.Push(subdirectories[i]);
            }

            await Task.Yield();
        }
    }

    public ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
        LocalFiles.ReadAsync(item.Uri, maxBytes, listed: true, cancellationToken);

    public ValueTask<ItemContent> ReadContentAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken) =>
        LocalFiles.ReadPooledAsync(item.Uri, maxBytes, listed: true, cancellationToken);

    private CorpusItem ToItem(FileInfo file)
    {
        var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
        var stamp = string.Create(CultureInfo.InvariantCulture, $"{file.Length}-{file.LastWriteTimeUtc.Ticks}");
        return new CorpusItem(key, file.FullName, file.Length, stamp);
    }
}
