using Icdiff.Core;

namespace Icdiff.Corpora.AzureBlob;

/// <summary>Opens az://account/container[/prefix] locations. Whether the container exists is found on listing.</summary>
public sealed class BlobCorpusProvider(BlobServiceClients clients) : ICorpusSourceProvider
{
    public bool CanOpen(string location) => BlobLocation.IsBlobUri(location);

    public ICorpusSource Open(string location)
    {
        var parsed = BlobLocation.Parse(location);
        return new BlobContainerCorpus(parsed, clients.Container(parsed));
    }
}

/// <summary>Reads az://account/container/blob URIs listed in manifests.</summary>
public sealed class BlobContentReader(BlobServiceClients clients) : IContentReader
{
    public bool CanRead(string uri) => BlobLocation.IsBlobUri(uri);

    public async ValueTask<byte[]> ReadAsync(string uri, long maxBytes, CancellationToken cancellationToken)
    {
        BlobLocation container;
        string name;
        try
        {
            (container, name) = BlobLocation.ParseBlob(uri);
        }
        catch (CorpusException ex)
        {
            throw new ItemReadException(SkipReason.ReadFailed, ex.Message, ex);
        }

        return await BlobDownloads.ReadAsync(clients.Container(container).GetBlobClient(name), null, maxBytes, cancellationToken);
    }
}
