using System.Text.Json;

namespace Icdiff.Cli.Tests;

public sealed class CliTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Audit_MissingGalleryFolder_PrintsOneLineAndExits2()
    {
        var empty = Directory.CreateTempSubdirectory("icdiff-cli-").FullName;
        File.WriteAllBytes(Path.Combine(empty, "x.png"), [1]);

        var (code, _, stderr) = await CliProcess.RunAsync(Quick, "audit", "--gallery", "/no/such/folder", "--generated", $"m={empty}");

        Assert.Equal(2, code);
        Assert.Equal("icdiff: error: --gallery: folder '/no/such/folder' does not exist.", stderr.Trim());
    }

    [Fact]
    public async Task Audit_EmptyGeneratedFolder_PrintsOneLineAndExits2()
    {
        var gallery = Directory.CreateTempSubdirectory("icdiff-cli-").FullName;
        File.WriteAllBytes(Path.Combine(gallery, "x.png"), [1]);
        var empty = Directory.CreateTempSubdirectory("icdiff-cli-").FullName;

        var (code, _, stderr) = await CliProcess.RunAsync(Quick, "audit", "--gallery", gallery, "--generated", $"m={empty}");

        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("holds no files", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--generated", "no-equals-sign", "must look like <model>=<folder>")]
    [InlineData("--min-level", "9", "min-level must be 1..5")]
    [InlineData("--model", "/no/such/manifest.json", "does not exist")]
    public async Task Audit_BadArgument_PrintsOneLineAndExits2(string option, string value, string expected)
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-cli-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);
        string[] args = option == "--generated"
            ? ["audit", "--gallery", folder, "--generated", value]
            : ["audit", "--gallery", folder, "--generated", $"m={folder}", option, value];

        var (code, _, stderr) = await CliProcess.RunAsync(Quick, args);

        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_UnknownOption_IsRejected()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Quick, "audit", "--galery", "x");

        Assert.NotEqual(0, code);
        Assert.Contains("--galery", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_Small_WritesTheThreeReportsWithTrueRatesInsideIntervals()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-demo-").FullName;

        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), "demo", "--small", "--out", root);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("Every true rate lies inside its 95% interval.", stdout, StringComparison.Ordinal);
        Assert.Contains("replica = level >= 4", stdout, StringComparison.Ordinal);
        var report = Path.Combine(root, "report");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(report, "report.json"), TestContext.Current.CancellationToken));
        var models = json.RootElement.GetProperty("models");
        Assert.Equal(2, models.GetArrayLength());
        var csv = await File.ReadAllLinesAsync(Path.Combine(report, "matches.csv"), TestContext.Current.CancellationToken);
        Assert.Equal("model,image,best_match,level,score,replica", csv[0]);
        var scanned = models.EnumerateArray().Sum(m => m.GetProperty("summary").GetProperty("scanned").GetInt32());
        Assert.Equal(scanned, csv.Length - 1);
        var html = await File.ReadAllTextAsync(Path.Combine(report, "report.html"), TestContext.Current.CancellationToken);
        Assert.Contains("data:image/jpeg;base64,", html, StringComparison.Ordinal);
        Assert.Contains("model-a", html, StringComparison.Ordinal);
    }
}
