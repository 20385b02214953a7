using System.Security.Cryptography;

namespace Icdiff.Cli.Tests;

/// <summary>
/// Secrets given in configuration (storage account keys, Redis passwords) never reach a log line, an error message
/// or a file, even when the service they open is unreachable or the setting holding them is malformed. Each case
/// uses a fresh random secret and searches everything the process printed and wrote.
/// </summary>
public sealed class SecretTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    [Fact]
    public async Task UnreachableBlobAccount_ItsKeyAppearsNowhere()
    {
        var secret = NewSecret();
        var root = Directory.CreateTempSubdirectory("icdiff-secret-").FullName;
        var environment = new Dictionary<string, string>
        {
            // Port 9 (discard) on loopback: nothing answers, every request fails after the SDK's retries.
            ["Icdiff__Blob__ConnectionString"] = $"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={secret};BlobEndpoint=http://127.0.0.1:9/acct;",
            ["Icdiff__Blob__MaxRetries"] = "1",
        };

        var (code, stdout, stderr) = await CliProcess.RunAsync(Limit, environment, null, "audit", "--gallery", "az://acct/gallery", "--generated", "m=az://acct/generated", "--out", Path.Combine(root, "out"), "--data-dir", Path.Combine(root, "data"));

        Assert.NotEqual(0, code);
        AssertNowhere(secret, stdout, stderr, root);
    }

    [Fact]
    public async Task MalformedConnectionString_TheErrorNamesTheKey_NotTheValue()
    {
        var secret = NewSecret();
        var root = Directory.CreateTempSubdirectory("icdiff-secret-").FullName;
        var environment = new Dictionary<string, string> { ["Icdiff__Blob__ConnectionString"] = $"AccountKey={secret};this is not a connection string" };

        var (code, stdout, stderr) = await CliProcess.RunAsync(Limit, environment, null, "audit", "--gallery", "az://acct/gallery", "--generated", "m=az://acct/generated", "--out", Path.Combine(root, "out"), "--data-dir", Path.Combine(root, "data"));

        Assert.Equal(2, code);
        Assert.Contains("Icdiff:Blob:ConnectionString", stderr, StringComparison.Ordinal);
        AssertNowhere(secret, stdout, stderr, root);
    }

    [Fact]
    public async Task UnreachableClusterRedis_ItsPasswordAppearsNowhere()
    {
        var secret = NewSecret();
        var root = Directory.CreateTempSubdirectory("icdiff-secret-").FullName;
        var folder = Directory.CreateDirectory(Path.Combine(root, "images")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(folder, "x.png"), [1], TestContext.Current.CancellationToken);

        var client = await CliProcess.RunAsync(Limit, "audit", "--gallery", folder, "--generated", $"m={folder}", "--cluster", $"127.0.0.1:9,password={secret},connectTimeout=1000", "--out", Path.Combine(root, "out"));
        var silo = await CliProcess.RunExecutableAsync(Limit, "icdiff-silo.dll", new Dictionary<string, string>
        {
            ["Icdiff__Cluster__Redis"] = $"127.0.0.1:9,password={secret},connectTimeout=1000",
            ["Icdiff__Silo__DataDirectory"] = Path.Combine(root, "silo-data"),
        });

        Assert.NotEqual(0, client.ExitCode);
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("Icdiff:Cluster:Redis", silo.Stderr, StringComparison.Ordinal);
        Assert.Single(client.Stderr.Trim().Split('\n'));
        Assert.Contains("cannot join the cluster", client.Stderr, StringComparison.Ordinal);
        AssertNowhere(secret, client.Stdout + silo.Stdout, client.Stderr + silo.Stderr, root);
    }

    [Fact]
    public async Task UnreachableHistoryPostgres_ServeAndExportSayWhichServer_AndItsPasswordAppearsNowhere()
    {
        var secret = NewSecret();
        var root = Directory.CreateTempSubdirectory("icdiff-secret-").FullName;
        var environment = new Dictionary<string, string> { ["Icdiff__History__Postgres"] = $"Host=127.0.0.1;Port=9;Username=icdiff;Password={secret};Database=icdiff;Timeout=2" };

        var serve = await CliProcess.RunAsync(Limit, environment, null, "serve", "--data-dir", Path.Combine(root, "data"), "--urls", "http://127.0.0.1:0");
        var export = await CliProcess.RunAsync(Limit, environment, null, "runs", "export", "some-run", "--data-dir", Path.Combine(root, "data"));

        foreach (var (code, stdout, stderr) in new[] { serve, export })
        {
            Assert.Equal(2, code);
            Assert.Contains("cannot reach the history store postgresql://127.0.0.1:9/icdiff", stderr, StringComparison.Ordinal);
            Assert.Single(stderr.Trim().Split('\n'));
            AssertNowhere(secret, stdout, stderr, root);
        }
    }

    private static void AssertNowhere(string secret, string stdout, string stderr, string root)
    {
        Assert.DoesNotContain(secret, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, stderr, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(secret, File.ReadAllText(file), StringComparison.Ordinal);
        }
    }
}
