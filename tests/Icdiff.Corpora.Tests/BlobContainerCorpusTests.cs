using Azure.Storage.Blobs;
using Icdiff.Core;
using Icdiff.Corpora.AzureBlob;

namespace Icdiff.Corpora.Tests;

public sealed class BlobContainerCorpusTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private async Task<BlobContainerClient> ContainerWithAsync(params (string Name, byte[] Bytes)[] blobs)
    {
        Assert.SkipWhen(azurite.SkipReason is not null, azurite.SkipReason ?? string.Empty);
        var container = azurite.Service.GetBlobContainerClient($"c{Guid.NewGuid():N}");
        await container.CreateAsync(cancellationToken: Token);
        foreach (var (name, bytes) in blobs)
        {
            await container.UploadBlobAsync(name, new BinaryData(bytes), Token);
        }

        return container;
    }

    [Fact]
    public async Task Listing_UnderPrefix_IsOrderedRelativeAndSkipsHiddenNamesAndOtherPrefixes()
    {
        var container = await ContainerWithAsync(
            ("set/b.png", [2]), ("set/a.png", [1, 1]), ("set/sub/c.jpg", [3]), ("set/.hidden/x.png", [4]), ("set/.y.png", [5]), ("setx/d.png", [6]), ("other/e.png", [7]));
        var provider = new BlobCorpusProvider(azurite.Clients());

        var items = await provider.Open($"az://{AzuriteServerAccount}/{container.Name}/set").ListAllAsync();

        Assert.Equal(["a.png", "b.png", "sub/c.jpg"], items.Select(i => i.Key));
        Assert.Equal(["set/a.png", "set/b.png", "set/sub/c.jpg"], items.Select(i => i.Uri));
        Assert.Equal(2, items[0].Length);
        Assert.All(items, i => Assert.NotEmpty(i.Stamp));
    }

    [Fact]
    public async Task Read_ReturnsTheBytes_AndReportsReplacedMissingAndOversizedBlobs()
    {
        var container = await ContainerWithAsync(("a.png", [1, 2, 3]), ("b.png", [4]), ("c.png", [5]), ("big.png", new byte[1000]));
        var source = new BlobCorpusProvider(azurite.Clients()).Open($"az://{AzuriteServerAccount}/{container.Name}");
        var items = (await source.ListAllAsync()).ToDictionary(i => i.Key);

        Assert.Equal([1, 2, 3], await source.ReadAsync(items["a.png"], 100, Token));

        await container.GetBlobClient("b.png").UploadAsync(new BinaryData(new byte[] { 9, 9 }), overwrite: true, Token);
        var replaced = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(items["b.png"], 100, Token));
        Assert.Contains("changed after it was listed", replaced.Message, StringComparison.Ordinal);

        await container.DeleteBlobAsync("c.png", cancellationToken: Token);
        var missing = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(items["c.png"], 100, Token));
        Assert.Equal(SkipReason.Missing, missing.Reason);

        var big = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(items["big.png"], 100, Token));
        Assert.Equal(SkipReason.TooLarge, big.Reason);
    }

    [Fact]
    public async Task MissingContainer_IsACorpusErrorNamingIt()
    {
        Assert.SkipWhen(azurite.SkipReason is not null, azurite.SkipReason ?? string.Empty);
        var source = new BlobCorpusProvider(azurite.Clients()).Open($"az://{AzuriteServerAccount}/no-such-container");

        var error = await Assert.ThrowsAsync<CorpusException>(() => source.ListAllAsync());

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-container", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StorageDownForLongerThanTheRetries_IsAReadFailure_ThatNeverLeaksTheKey()
    {
        var container = await ContainerWithAsync(("a.png", [1]));
        var source = new BlobCorpusProvider(azurite.Clients(maxRetries: 1)).Open($"az://{AzuriteServerAccount}/{container.Name}");
        var item = (await source.ListAllAsync()).Single();

        await azurite.Server.StopAsync();
        try
        {
            var error = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(item, 100, Token));
            Assert.Equal(SkipReason.ReadFailed, error.Reason);
            Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("AccountKey", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await azurite.Server.ResumeAsync();
        }

        Assert.Equal([1], await source.ReadAsync(item, 100, Token));
    }

    [Fact]
    public async Task StorageDownForAFewSeconds_IsRiddenOutByRetries()
    {
        var container = await ContainerWithAsync(("a.png", [7, 7]));
        // Retries over about 10 s: the 2 s outage plus Azurite's own restart, which takes seconds on a loaded machine.
        var source = new BlobCorpusProvider(azurite.Clients(maxRetries: 8, maxRetryDelaySeconds: 2)).Open($"az://{AzuriteServerAccount}/{container.Name}");
        var item = (await source.ListAllAsync()).Single();

        await azurite.Server.StopAsync();
        var read = source.ReadAsync(item, 100, Token).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(2), Token);
        await azurite.Server.ResumeAsync();

        Assert.Equal([7, 7], await read);
    }

    [Theory]
    [InlineData("az://x/container")]
    [InlineData("az://account")]
    [InlineData("az://account/UPPER")]
    public void BadLocation_IsRejectedWithItsShape(string location)
    {
        var error = Assert.Throws<CorpusException>(() => BlobLocation.Parse(location));
        Assert.Contains("az://account/container[/prefix]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadConnectionString_NamesTheKey_NotTheValue()
    {
        var error = Assert.Throws<ArgumentException>(() => new BlobServiceClients(Microsoft.Extensions.Options.Options.Create(new BlobCorporaOptions { ConnectionString = "AccountKey=s3cr3t;nonsense" })));

        Assert.Contains("Icdiff:Blob:ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.Message, StringComparison.Ordinal);
    }

    private static string AzuriteServerAccount => Icdiff.Tests.Shared.AzuriteServer.AccountName;
}
