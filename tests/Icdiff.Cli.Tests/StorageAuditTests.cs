using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Icdiff.Synthesis;
using Icdiff.Tests.Shared;

namespace Icdiff.Cli.Tests;

/// <summary>
/// A synthetic corpus on local folders, the same files in Azurite containers, and the same files listed by
/// manifests: one generated corpus, three locations, and the audits must agree to the last match.
/// </summary>
public sealed class StorageAuditFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("icdiff-storage-").FullName;

    public DemoCorpus Corpus { get; private set; } = null!;

    public string? SkipReason { get; private set; }

    internal AzuriteServer? Azurite { get; private set; }

    public string FolderResult { get; private set; } = string.Empty;

    public string FolderStdout { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        Corpus = DemoCorpusBuilder.Build(Path.Combine(Root, "corpus"), DemoCorpusSpec.Small(11));
        var folder = await StorageAuditTests.AuditAsync(this, "folder", null, null, "--gallery", Corpus.GalleryPath, "--generated", $"model-a={Corpus.ModelPaths["model-a"]}", "--generated", $"model-b={Corpus.ModelPaths["model-b"]}");
        FolderResult = folder.Result;
        FolderStdout = folder.Stdout;

        var executable = AzuriteServer.FindExecutable(out var reason);
        if (executable is null)
        {
            SkipReason = reason;
            return;
        }

        Azurite = await AzuriteServer.StartAsync(executable);
        var service = new BlobServiceClient(Azurite.ConnectionString);
        await UploadAsync(service.GetBlobContainerClient("gallery"), Corpus.GalleryPath, "train/");
        var generated = service.GetBlobContainerClient("generated");
        foreach (var (model, path) in Corpus.ModelPaths)
        {
            await UploadAsync(generated, path, $"{model}/");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Azurite is not null)
        {
            await Azurite.DisposeAsync();
        }
    }

    private static async Task UploadAsync(BlobContainerClient container, string folder, string prefix)
    {
        await container.CreateIfNotExistsAsync();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var name = prefix + Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');
            await container.GetBlobClient(name).UploadAsync(file, overwrite: true);
        }
    }
}

public sealed class StorageAuditTests(StorageAuditFixture fixture) : IClassFixture<StorageAuditFixture>
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(5);

    private static string Account => AzuriteServer.AccountName;

    [Fact]
    public void FolderAudit_FoundReplicas_SoTheComparisonsBelowCompareSomething()
    {
        Assert.Contains("\"replicas\":", fixture.FolderResult, StringComparison.Ordinal);
        Assert.DoesNotContain("\"replicas\":0,", fixture.FolderResult.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlobAudit_GivesTheFolderResult_AndNeverPrintsTheConnectionString()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? string.Empty);

        var blob = await AuditAsync(fixture, "blob", Environment(), null, "--gallery", $"az://{Account}/gallery/train", "--generated", $"model-a=az://{Account}/generated/model-a", "--generated", $"model-b=az://{Account}/generated/model-b");

        Assert.Equal(fixture.FolderResult, blob.Result);
        AssertNoSecret(blob);
    }

    [Fact]
    public async Task BlobAudit_RidesOutAStorageOutageOfAFewSeconds_WithTheSameResult()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? string.Empty);
        var azurite = fixture.Azurite!;
        Task? outage = null;
        var resumedAt = DateTime.MaxValue;

        // The outage starts when the run is under way (the silo is starting and about to list the gallery) and lasts 4 s.
        var blob = await AuditAsync(fixture, "outage", Environment(), line =>
        {
            if (line.StartsWith("Run ", StringComparison.Ordinal) && outage is null)
            {
                outage = Task.Run(async () =>
                {
                    await azurite.StopAsync();
                    await Task.Delay(TimeSpan.FromSeconds(4));
                    await azurite.ResumeAsync();
                    resumedAt = DateTime.UtcNow;
                });
            }
        }, "--gallery", $"az://{Account}/gallery/train", "--generated", $"model-a=az://{Account}/generated/model-a", "--generated", $"model-b=az://{Account}/generated/model-b");

        var finishedAt = DateTime.UtcNow;

        Assert.NotNull(outage);
        await outage;
        Assert.True(resumedAt < finishedAt, "the run ended before storage came back, so it never met the outage");
        Assert.Equal(fixture.FolderResult, blob.Result);
    }

    [Fact]
    public async Task ManifestAudit_GivesTheFolderResult()
    {
        var corpus = fixture.Corpus;
        var gallery = new StringBuilder("key,uri,note\n");
        foreach (var file in Directory.EnumerateFiles(corpus.GalleryPath).Order(StringComparer.Ordinal))
        {
            gallery.Append(Path.GetFileName(file)).Append(',').Append(Path.GetRelativePath(corpus.Root, file)).Append(",\"a, b\"\n");
        }

        var generated = new StringBuilder();
        foreach (var (model, path) in corpus.ModelPaths.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            foreach (var file in Directory.EnumerateFiles(path).Order(StringComparer.Ordinal))
            {
                generated.Append(JsonSerializer.Serialize(new { uri = file, model, key = Path.GetFileName(file), prompt = "a <b>photo</b>" })).Append('\n');
            }
        }

        var galleryManifest = Path.Combine(corpus.Root, "gallery.csv");
        var generatedManifest = Path.Combine(corpus.Root, "generated.jsonl");
        await File.WriteAllTextAsync(galleryManifest, gallery.ToString(), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(generatedManifest, generated.ToString(), TestContext.Current.CancellationToken);

        var manifest = await AuditAsync(fixture, "manifest", null, null, "--gallery", galleryManifest, "--generated-manifest", generatedManifest);

        Assert.Equal(fixture.FolderResult, manifest.Result);
    }

    [Fact]
    public async Task ManifestWithABadRow_FailsBeforeTheRun_WithOneLineNamingTheLine()
    {
        var bad = Path.Combine(fixture.Root, "bad.csv");
        await File.WriteAllTextAsync(bad, "uri,model\na.png,m\n\"b.png,m\n", TestContext.Current.CancellationToken);

        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "audit", "--gallery", fixture.Corpus.GalleryPath, "--generated-manifest", bad);

        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("line 3: a quoted field is not closed", stderr, StringComparison.Ordinal);
    }

    private Dictionary<string, string> Environment() => new() { ["Icdiff__Blob__ConnectionString"] = fixture.Azurite!.ConnectionString };

    private void AssertNoSecret((string Result, string Stdout, string Stderr, string OutDirectory) run)
    {
        var key = fixture.Azurite!.ConnectionString.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];
        Assert.DoesNotContain(key, run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(key, run.Stderr, StringComparison.Ordinal);
        // The report and everything the run stored (run record, results, gallery index) hold no trace of it.
        var dataDirectory = Path.Combine(Path.GetDirectoryName(run.OutDirectory)!, "data");
        foreach (var file in Directory.EnumerateFiles(run.OutDirectory).Concat(Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories)))
        {
            Assert.DoesNotContain(key, File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    /// <summary>Runs an audit and returns what must not depend on where the images live: per-model figures and every match.</summary>
    internal static async Task<(string Result, string Stdout, string Stderr, string OutDirectory)> AuditAsync(StorageAuditFixture fixture, string name, IReadOnlyDictionary<string, string>? environment, Action<string>? onLine, params string[] args)
    {
        var outDirectory = Path.Combine(fixture.Root, name, "out");
        string[] all = ["audit", .. args, "--out", outDirectory, "--data-dir", Path.Combine(fixture.Root, name, "data")];
        var (code, stdout, stderr) = await CliProcess.RunAsync(Slow, environment, onLine, all);
        Assert.True(code == 0, $"{name}: exit {code}\n{stdout}\n{stderr}");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDirectory, "report.json")));
        var result = new StringBuilder();
        result.Append("gallery ").Append(report.RootElement.GetProperty("galleryIndexed").GetInt32()).Append('\n');
        foreach (var model in report.RootElement.GetProperty("models").EnumerateArray())
        {
            result.Append(model.GetProperty("summary").GetRawText()).Append('\n');
            foreach (var match in model.GetProperty("matches").EnumerateArray().Select(m => m.GetRawText()).Order(StringComparer.Ordinal))
            {
                result.Append(match).Append('\n');
            }
        }

        return (result.ToString(), stdout, stderr, outDirectory);
    }
}
