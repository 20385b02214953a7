using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Icdiff.Core;
using Microsoft.Extensions.Options;

namespace Icdiff.Corpora.AzureBlob;

/// <summary>One <see cref="BlobServiceClient"/> per account, shared by every corpus and reader of the process.</summary>
public sealed class BlobServiceClients
{
    private readonly BlobCorporaOptions _options;
    private readonly BlobClientOptions _clientOptions;
    private readonly BlobServiceClient? _configured;
    private readonly ConcurrentDictionary<string, BlobServiceClient> _byAccount = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lazy<TokenCredential> _credential = new(() => new DefaultAzureCredential());

    public BlobServiceClients(IOptions<BlobCorporaOptions> options)
    {
        _options = options.Value;
        _options.Validate();
        _clientOptions = new BlobClientOptions();
        _clientOptions.Retry.Mode = RetryMode.Exponential;
        _clientOptions.Retry.MaxRetries = _options.MaxRetries;
        _clientOptions.Retry.Delay = _options.RetryDelay;
        _clientOptions.Retry.MaxDelay = _options.MaxRetryDelay;
        _clientOptions.Retry.NetworkTimeout = _options.NetworkTimeout;
        if (!string.IsNullOrWhiteSpace(_options.ConnectionString))
        {
            try
            {
                _configured = new BlobServiceClient(_options.ConnectionString, _clientOptions);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                // The SDK's message may quote the string; ours names only the key.
                throw new ArgumentException($"{BlobCorporaOptions.SectionName}:{nameof(BlobCorporaOptions.ConnectionString)} is not a valid storage connection string.");
            }
        }
    }

    public BlobContainerClient Container(BlobLocation location) =>
        _byAccount.GetOrAdd(location.Account, Create).GetBlobContainerClient(location.Container);

    private BlobServiceClient Create(string account)
    {
        if (_configured is not null && string.Equals(_configured.AccountName, account, StringComparison.OrdinalIgnoreCase))
        {
            return _configured;
        }

        var uri = new Uri(_options.ServiceUriTemplate.Replace("{account}", account, StringComparison.Ordinal));
        return new BlobServiceClient(uri, _credential.Value, _clientOptions);
    }

    internal static string Describe(Exception ex) => ex switch
    {
        Azure.RequestFailedException { Status: 0 } r => $"storage unreachable ({FirstLine(r.InnerException?.Message ?? r.Message)})",
        Azure.RequestFailedException r => $"storage answered {r.Status} {r.ErrorCode}",
        AuthenticationFailedException => "no Azure credential could authenticate (set Icdiff:Blob:ConnectionString or sign in)",
        AggregateException a when a.InnerExceptions.Count > 0 => Describe(a.InnerExceptions[^1]),
        _ => FirstLine(ex.Message),
    };

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    internal static bool IsStorageFailure(Exception ex) =>
        ex is Azure.RequestFailedException or AuthenticationFailedException or AggregateException or HttpRequestException or TimeoutException
            or IOException or CredentialUnavailableException;

    internal static ItemReadException ToReadException(Exception ex) => ex switch
    {
        Azure.RequestFailedException { Status: 404 } => new ItemReadException(SkipReason.Missing, "blob disappeared after it was listed", ex),
        Azure.RequestFailedException { Status: 412 } => new ItemReadException(SkipReason.ReadFailed, "blob changed after it was listed (ETag differs)", ex),
        Azure.RequestFailedException { Status: 401 or 403 } r => new ItemReadException(SkipReason.ReadFailed, $"access denied ({r.Status} {r.ErrorCode})", ex),
        _ => new ItemReadException(SkipReason.ReadFailed, Describe(ex), ex),
    };

    internal static CorpusException ToCorpusException(BlobLocation location, Exception ex) => ex switch
    {
        Azure.RequestFailedException { Status: 404 } => new CorpusException($"container '{location}' does not exist.", ex),
        Azure.RequestFailedException { Status: 401 or 403 } r => new CorpusException($"container '{location}' cannot be listed: access denied ({r.Status} {r.ErrorCode}).", ex),
        _ => new CorpusException($"container '{location}' cannot be listed: {Describe(ex)}.", ex),
    };
}
