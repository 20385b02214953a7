using Azure.Storage.Blobs;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Tests.Shared;
using Microsoft.Extensions.Options;

namespace Icdiff.Corpora.Tests;

/// <summary>One Azurite server for the blob tests of this assembly; absent Azurite makes each test a skip that says why.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteServer? _server;

    public string? SkipReason { get; private set; }

    internal AzuriteServer Server => _server ?? throw new InvalidOperationException(SkipReason);

    public BlobServiceClient Service => new(Server.ConnectionString);

    public BlobServiceClients Clients(int maxRetries = 2, double maxRetryDelaySeconds = 0.5) => new(Options.Create(new BlobCorporaOptions
    {
        ConnectionString = Server.ConnectionString,
        MaxRetries = maxRetries,
        RetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromSeconds(maxRetryDelaySeconds),
    }));

    public async ValueTask InitializeAsync()
    {
        var executable = AzuriteServer.FindExecutable(out var reason);
        if (executable is null)
        {
            SkipReason = reason;
            return;
        }

        _server = await AzuriteServer.StartAsync(executable);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
