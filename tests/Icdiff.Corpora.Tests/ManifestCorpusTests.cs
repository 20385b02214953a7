using System.Text.Json.Serialization;
using Icdiff.Core;
using Icdiff.Corpora.AzureBlob;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;
using Parquet.Serialization;

namespace Icdiff.Corpora.Tests;

public sealed class ManifestCorpusTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string Folder()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-manifest-").FullName;
        Directory.CreateDirectory(Path.Combine(folder, "img"));
        File.WriteAllBytes(Path.Combine(folder, "img", "a.png"), [1]);
        File.WriteAllBytes(Path.Combine(folder, "img", "b.png"), [2, 2]);
        File.WriteAllBytes(Path.Combine(folder, "img", "c.png"), [3, 3, 3]);
        return folder;
    }

    private static ManifestCorpusProvider Provider(params IContentReader[] extra) => new([new LocalFileContentReader(), .. extra]);

    [Fact]
    public async Task Csv_WithQuotedFieldsAndExtraColumns_ListsRowsInOrder_AndReadsRelativePaths()
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, "path,model,prompt,seed\nimg/b.png,m1,\"a cat, on a mat\",7\nimg/a.png,m2,x,8\nimg/c.png,m1,\"say \"\"hi\"\"\",9\n", Token);

        var all = await Provider().Open(manifest).ListAllAsync();
        var m1 = Provider().Open(ManifestLocation.WithModel(manifest, "m1"));
        var m1Items = await m1.ListAllAsync();

        Assert.Equal(["img/b.png", "img/a.png", "img/c.png"], all.Select(i => i.Key));
        Assert.Equal(["img/b.png", "img/c.png"], m1Items.Select(i => i.Key));
        Assert.Equal([2, 2], await m1.ReadAsync(m1Items[0], 10, Token));
        Assert.Equal(Path.Combine(folder, "img", "c.png"), m1Items[1].Uri);
    }

    [Fact]
    public async Task JsonLines_And_Parquet_ListTheSameItemsAsCsv()
    {
        var folder = Folder();
        var csv = Path.Combine(folder, "m.csv");
        var jsonl = Path.Combine(folder, "m.jsonl");
        var parquet = Path.Combine(folder, "m.parquet");
        await File.WriteAllTextAsync(csv, "uri,model,sha256\nimg/a.png,m,h1\nimg/b.png,m,h2\n", Token);
        await File.WriteAllTextAsync(jsonl, "{\"uri\":\"img/a.png\",\"model\":\"m\",\"sha256\":\"h1\",\"meta\":{\"k\":1}}\n\n{\"uri\":\"img/b.png\",\"model\":\"m\",\"sha256\":\"h2\"}\n", Token);
        await ParquetSerializer.SerializeAsync(new[] { new Row { Uri = "img/a.png", Model = "m", Sha256 = "h1", Seed = 1 }, new Row { Uri = "img/b.png", Model = "m", Sha256 = "h2", Seed = 2 } }, parquet, cancellationToken: Token);

        var fromCsv = await Provider().Open(csv).ListAllAsync();
        var fromJsonl = await Provider().Open(jsonl).ListAllAsync();
        var fromParquet = await Provider().Open($"manifest:{parquet}#model=m").ListAllAsync();

        Assert.Equal(fromCsv, fromJsonl);
        Assert.Equal(fromCsv, fromParquet);
        Assert.Equal(["h1", "h2"], fromCsv.Select(i => i.Stamp));
    }

    [Fact]
    public async Task CsvManifest_WithAQuotedMultiLinePrompt_Reads_AndLaterRowsKeepTheirLineNumbers()
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, "uri,model,prompt\nimg/a.png,m,\"a cat,\non two lines, \"\"quoted\"\"\"\nimg/b.png,m,plain\n,m,x\n", Token);

        var error = await Assert.ThrowsAsync<CorpusException>(() => Provider().Open(manifest).ListAllAsync());
        await File.WriteAllTextAsync(manifest, "uri,model,prompt\r\nimg/a.png,m,\"a cat,\r\non two lines, \"\"quoted\"\"\"\r\nimg/b.png,m,plain\r\n", Token);
        var corpus = Provider().Open(manifest);
        var items = await corpus.ListAllAsync();
        var prompts = new Dictionary<string, string>();
        await foreach (var (key, prompt) in ((IPromptedCorpus)corpus).ListPromptsAsync(Token))
        {
            prompts[key] = prompt;
        }

        // The empty image of the last row is on line 5: the record of line 2 spans lines 2 and 3.
        Assert.Contains("line 5: the image column 'uri' is empty", error.Message, StringComparison.Ordinal);
        Assert.Equal(["img/a.png", "img/b.png"], items.Select(i => i.Key));
        Assert.Equal("a cat,\non two lines, \"quoted\"", prompts["img/a.png"]);
        Assert.Equal("plain", prompts["img/b.png"]);
    }

    [Fact]
    public async Task RepeatedRows_AreListedOnce()
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, "uri\nimg/a.png\nimg/b.png\nimg/a.png\n", Token);

        var items = await Provider().Open(manifest).ListAllAsync();

        Assert.Equal(["img/a.png", "img/b.png"], items.Select(i => i.Key));
    }

    [Theory]
    [InlineData("m.csv", "uri\nimg/a.png\n\"img/b.png\n", "line 3: a quoted field is not closed")]
    [InlineData("m.csv", "uri,model\nimg/a.png,m,extra\n", "line 2: 3 fields where the header has 2")]
    [InlineData("m.csv", "name,model\nx,m\n", "no image column")]
    [InlineData("m.csv", "uri,model\n,m\n", "line 2: the image column 'uri' is empty")]
    [InlineData("m.csv", "uri,URI\na,b\n", "column 'URI' appears twice")]
    [InlineData("m.jsonl", "{\"uri\":\"img/a.png\"}\n{\"uri\": \n", "line 2: not valid JSON")]
    [InlineData("m.jsonl", "[1,2]\n", "line 1: expected a JSON object")]
    [InlineData("m.parquet", "PAR1 this is not parquet", "is not a readable Parquet file")]
    public async Task MalformedManifest_IsOneErrorNamingFileAndLine(string name, string content, string expected)
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, name);
        await File.WriteAllTextAsync(manifest, content, Token);

        var error = await Assert.ThrowsAsync<CorpusException>(() => Provider().Open(manifest).ListAllAsync());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(manifest, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelFilter_OnAManifestWithoutModels_SaysSo()
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, "uri\nimg/a.png\n", Token);

        var error = await Assert.ThrowsAsync<CorpusException>(() => Provider().Open(ManifestLocation.WithModel(manifest, "m1")).ListAllAsync());

        Assert.Contains("no model column", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingImage_IsASkipWithReason_NotAFailedListing()
    {
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.csv");
        await File.WriteAllTextAsync(manifest, "uri\nimg/gone.png\n", Token);
        var source = Provider().Open(manifest);
        var item = (await source.ListAllAsync()).Single();

        var error = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(item, 10, Token));

        Assert.Equal(SkipReason.Missing, error.Reason);
    }

    [Fact]
    public async Task BlobUris_AreReadThroughTheBlobReader()
    {
        Assert.SkipWhen(azurite.SkipReason is not null, azurite.SkipReason ?? string.Empty);
        var container = azurite.Service.GetBlobContainerClient($"m{Guid.NewGuid():N}");
        await container.CreateAsync(cancellationToken: Token);
        await container.UploadBlobAsync("gen/x.png", new BinaryData(new byte[] { 4, 2 }), Token);
        var folder = Folder();
        var manifest = Path.Combine(folder, "m.jsonl");
        var account = Icdiff.Tests.Shared.AzuriteServer.AccountName;
        await File.WriteAllTextAsync(manifest, $"{{\"uri\":\"az://{account}/{container.Name}/gen/x.png\",\"prompt\":\"p\"}}\n{{\"uri\":\"az://{account}/{container.Name}/gen/none.png\"}}\n", Token);
        var source = Provider(new BlobContentReader(azurite.Clients())).Open(manifest);
        var items = await source.ListAllAsync();

        Assert.Equal([4, 2], await source.ReadAsync(items[0], 10, Token));
        var missing = await Assert.ThrowsAsync<ItemReadException>(async () => await source.ReadAsync(items[1], 10, Token));
        Assert.Equal(SkipReason.Missing, missing.Reason);
    }

    public sealed class Row
    {
        [JsonPropertyName("uri")]
        public string? Uri { get; set; }

        [JsonPropertyName("model")]
        public string? Model { get; set; }

        [JsonPropertyName("sha256")]
        public string? Sha256 { get; set; }

        [JsonPropertyName("seed")]
        public int Seed { get; set; }
    }
}
