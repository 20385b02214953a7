using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Icdiff.Core;

namespace Icdiff.Corpora.AzureBlob;

/// <summary>
/// Every blob under a container prefix. The service lists names in lexicographic order one page at a time, so a
/// listing is streamed and two listings of an unchanged container agree, as shard planning needs. Keys are blob
/// names relative to the prefix (as paths are relative to a folder), stamps are ETags, and a read insists on the
/// listed ETag: an image replaced after listing is reported, never scored under the old stamp.
/// </summary>
public sealed class BlobContainerCorpus(BlobLocation location, BlobContainerClient container) : ICorpusSource
{
    public string Location => location.ToString();

    public async IAsyncEnumerable<CorpusItem> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = location.Prefix.Length == 0 ? null : location.Prefix;
        var pages = container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken);
        await using var blobs = pages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            BlobItem blob;
            try
            {
                if (!await blobs.MoveNextAsync())
                {
                    yield break;
                }

                blob = blobs.Current;
            }
            catch (Exception ex) when (BlobServiceClients.IsStorageFailure(ex))
            {
                throw BlobServiceClients.ToCorpusException(location, ex);
            }

            var key = blob.Name[location.Prefix.Length..];
            // Folder markers and hidden names are skipped as the folder corpus skips dot-files.
            if (key.Length == 0 || key.EndsWith('/') || key.Split('/').Any(segment => segment.StartsWith('.')))
            {
                continue;
            }

            var length = blob.Properties.ContentLength ?? 0;
            var etag = blob.Properties.ETag?.ToString() ?? string.Empty;
            yield return new CorpusItem(key, blob.Name, length, etag);
        }
    }

    public async ValueTask<byte[]> ReadAsync(CorpusItem item, long maxBytes, CancellationToken cancellationToken)
    {
        if (item.Length > maxBytes)
        {
            throw new ItemReadException(SkipReason.TooLarge, $"blob is {item.Length} bytes; the limit is {maxBytes}");
        }

        var conditions = item.Stamp.Length == 0 ? null : new BlobRequestConditions { IfMatch = new ETag(item.Stamp) };
        return await BlobDownloads.ReadAsync(container.GetBlobClient(item.Uri), conditions, maxBytes, cancellationToken);
    }
}

/// <summary>Bounded whole-blob downloads with failures mapped to skip reasons.</summary>
internal static class BlobDownloads
{
    public static async ValueTask<byte[]> ReadAsync(BlobClient blob, BlobRequestConditions? conditions, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Conditions = conditions }, cancellationToken);
            using var download = response.Value;
            var length = download.Details.ContentLength;
            if (length > maxBytes)
            {
                throw new ItemReadException(SkipReason.TooLarge, $"blob is {length} bytes; the limit is {maxBytes}");
            }

            var buffer = new byte[length];
            await download.Content.ReadExactlyAsync(buffer, cancellationToken);
            return buffer;
        }
        catch (EndOfStreamException ex)
        {
            throw new ItemReadException(SkipReason.ReadFailed, "blob shrank while it was read", ex);
        }
        catch (Exception ex) when (BlobServiceClients.IsStorageFailure(ex))
        {
            // Some services answer a failed If-Match on a deleted blob with 412 rather than 404.
            if (ex is RequestFailedException { Status: 412 } && !await ExistsAsync(blob, cancellationToken))
            {
                throw new ItemReadException(SkipReason.Missing, "blob disappeared after it was listed", ex);
            }

            throw BlobServiceClients.ToReadException(ex);
        }
    }

    private static async Task<bool> ExistsAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            return (await blob.ExistsAsync(cancellationToken)).Value;
        }
        catch (Exception ex) when (BlobServiceClients.IsStorageFailure(ex))
        {
            return true;
        }
    }
}
