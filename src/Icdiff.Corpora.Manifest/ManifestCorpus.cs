using System.Globalization;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Icdiff.Core;

namespace Icdiff.Corpora.Manifest;

/// <summary>
/// The images a manifest lists (for one model when the location says so), in manifest order. Relative URIs are
/// resolved against the manifest's folder, so a manifest and its images can move together. The key is the
/// row's key column or else its URI as written; the stamp is the row's stamp column (a content hash or ETag),
/// or else the file's size and time for local files and the URI for remote ones (remote content then counts as
/// immutable). A row that repeats an earlier key is the same image listed twice and is not listed again.
/// </summary>
public sealed class ManifestCorpus(ManifestLocation location, string displayLocation, IReadOnlyList<IContentReader> readers) : ICorpusSource, IPromptedCorpus
{
    private readonly string _root = Path.GetDirectoryName(location.Path)!;

    public string Location => displayLocation;

    public async IAsyncEnumerable<CorpusItem> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // 64-bit hashes of the keys seen: 8 bytes an image rather than the keys themselves.
        var seen = new HashSet<ulong>();
        var sawModelColumn = false;
        await foreach (var row in ReadRowsAsync(cancellationToken))
        {
            if (location.Model is { } model)
            {
                sawModelColumn |= row.Model is not null;
                if (!string.Equals(row.Model, model, StringComparison.Ordinal))
                {
                    continue;
                }
            }

            var uri = Resolve(row.Uri);
            var key = row.Key ?? row.Uri;
            if (!seen.Add(BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key)))))
            {
                continue;
            }

            yield return new CorpusItem(key, uri, 0, row.Stamp ?? StampOf(uri));
        }

        if (location.Model is not null && !sawModelColumn)
        {
            throw new CorpusException($"manifest '{location.Path}' has no model column (or no row names a model), so '#model={location.Model}' selects nothing.");
        }
    }

    public async IAsyncEnumerable<KeyValuePair<string, string>> ListPromptsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in ReadRowsAsync(cancellationToken))
        {
            if (row.Prompt is { Length: > 0 } prompt && (location.Model is null || string.Equals(row.Model, location.Model, StringComparison.Ordinal)))
            {
                yield return new KeyValuePair<string, string>(row.Key ?? row.Uri, prompt);
            }
        }
    }

    /// <summary>The manifest's rows; a malformed manifest (at its start or at any row) is a <see cref="CorpusException"/>.</summary>
    private async IAsyncEnumerable<ManifestRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerable<ManifestRow> rows;
        try
        {
            rows = ManifestReader.ReadAsync(location.Path, cancellationToken);
        }
        catch (ManifestFormatException ex)
        {
            throw new CorpusException(ex.Message, ex);
        }

        await using var enumerator = rows.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (ManifestFormatException ex)
            {
                throw new CorpusException(ex.Message, ex);
            }

            yield return enumerator.Current;
        }
    }

    public ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken)
    {
        foreach (var reader in readers)
        {
            if (reader.CanRead(item.Uri))
            {
                return reader.ReadAsync(item.Uri, maxBytes, cancellationToken);
            }
        }

        throw new ItemReadException(SkipReason.ReadFailed, $"no reader understands '{item.Uri}'");
    }

    private string Resolve(string uri)
    {
        if (uri.Contains("://", StringComparison.Ordinal) || Path.IsPathRooted(uri))
        {
            return uri;
        }

        return Path.GetFullPath(Path.Combine(_root, uri));
    }

    private static string StampOf(string uri)
    {
        if (Path.IsPathRooted(uri) && !uri.Contains("://", StringComparison.Ordinal))
        {
            var file = new FileInfo(uri);
            if (file.Exists)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{file.Length}-{file.LastWriteTimeUtc.Ticks}");
            }
        }

        return uri;
    }
}
