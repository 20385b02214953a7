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

        Assert.Equal(2, code);
        Assert.Contains("icdiff: error: Unrecognized command or argument '--galery'", stderr, StringComparison.Ordinal);
        Assert.EndsWith("See 'icdiff audit --help'.", stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidSetting_IsOneLineNamingTheKey_WithoutAStackTrace()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-cli-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);

        var (code, _, stderr) = await CliProcess.RunAsync(Quick, new Dictionary<string, string> { ["Icdiff__Pipeline__EmbedBatchSize"] = "0" }, null, "audit", "--gallery", folder, "--generated", $"m={folder}", "--data-dir", Path.Combine(folder, "data"));

        Assert.Equal(2, code);
        Assert.Equal("icdiff: error: Icdiff:Pipeline:EmbedBatchSize must be 1..4096 (got 0).", stderr.Trim());
    }

    [Fact]
    public async Task DemoHelp_ListsTheSmallCorpusOption()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Quick, "demo", "--help");

        Assert.True(code == 0, stderr);
        var line = Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith("--small", StringComparison.Ordinal));
        Assert.Contains("160 gallery images", line, StringComparison.Ordinal);
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
        Assert.Equal("model,image,best_match,level,score,replica,other_rule_match,other_rule_level", csv[0]);
        var scanned = models.EnumerateArray().Sum(m => m.GetProperty("summary").GetProperty("scanned").GetInt32());
        Assert.Equal(scanned, csv.Length - 1);
        var html = await File.ReadAllTextAsync(Path.Combine(report, "report.html"), TestContext.Current.CancellationToken);
        Assert.Contains("data:image/jpeg;base64,", html, StringComparison.Ordinal);
        Assert.Contains("model-a", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_TrainingSet_WritesLabelledPairsOfAllSixLevels_AndRefusesTheDemosSeed()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-trainset-").FullName;

        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), "demo", "--training-set", root, "--training-pairs", "14", "--training-seed", "3");
        var refused = await CliProcess.RunAsync(Quick, "demo", "--training-set", Path.Combine(root, "again"), "--training-seed", "20261124");

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("14 pairs, levels 0..5: 3/3/2/2/2/2", stdout, StringComparison.Ordinal);
        var pairs = await File.ReadAllLinesAsync(Path.Combine(root, "pairs.csv"), TestContext.Current.CancellationToken);
        Assert.Equal("name,level,generated,real", pairs[0]);
        Assert.Equal(14, pairs.Length - 1);
        Assert.Equal([0, 1, 2, 3, 4, 5], pairs.Skip(1).Select(l => int.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order());
        Assert.All(pairs.Skip(1), l => Assert.True(File.Exists(Path.Combine(root, l.Split(',')[2])) && File.Exists(Path.Combine(root, l.Split(',')[3])), l));
        Assert.False(Directory.Exists(Path.Combine(root, "report")));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("demo's own seed", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvalAndCalibrate_OnDemoPairs_ImproveTheBuiltinModel_AndTheAuditAcceptsTheResult()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-calibrate-").FullName;
        var slow = TimeSpan.FromMinutes(5);
        var demo = await CliProcess.RunAsync(slow, "demo", "--small", "--out", root);
        Assert.True(demo.ExitCode == 0, demo.Stderr);
        var pairs = Path.Combine(root, "corpus", "pairs.csv");

        var eval = await CliProcess.RunAsync(slow, "eval", "--pairs", pairs, "--out", Path.Combine(root, "eval.json"));
        var calibrate = await CliProcess.RunAsync(slow, "calibrate", "--pairs", pairs, "--out", Path.Combine(root, "calibrated"));
        var validate = await CliProcess.RunAsync(Quick, "model", "validate", Path.Combine(root, "calibrated", "model.json"));
        var audit = await CliProcess.RunAsync(slow, "audit", "--gallery", Path.Combine(root, "corpus", "gallery"), "--generated", $"model-a={Path.Combine(root, "corpus", "generated", "model-a")}", "--model", Path.Combine(root, "calibrated", "model.json"), "--out", Path.Combine(root, "audit"), "--data-dir", Path.Combine(root, "data"));

        Assert.True(eval.ExitCode == 0, eval.Stderr);
        Assert.Contains("Pearson correlation (levels/5)", eval.Stdout, StringComparison.Ordinal);
        Assert.Contains("mean squared error (levels/5)", eval.Stdout, StringComparison.Ordinal);
        using var figures = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "eval.json"), TestContext.Current.CancellationToken));
        var before = figures.RootElement.GetProperty("pearson").GetDouble();
        Assert.Equal(6, figures.RootElement.GetProperty("confusion").GetArrayLength());

        Assert.True(calibrate.ExitCode == 0, calibrate.Stderr);
        var after = double.Parse(calibrate.Stdout.Split('\n').Last(l => l.Contains("Pearson", StringComparison.Ordinal)).Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(after > before, $"PCC before {before}, after {after}");
        Assert.True(validate.ExitCode == 0, validate.Stderr);
        Assert.Contains("-calibrated: OK", validate.Stdout, StringComparison.Ordinal);
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        Assert.Contains("icdiff-builtin-descriptor-v1-calibrated", audit.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelValidate_ManifestPointingAtMissingOnnx_PrintsOneLine()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-manifest-").FullName;
        var manifest = Path.Combine(folder, "model.json");
        await File.WriteAllTextAsync(manifest, """{ "name": "x", "onnx": "absent.onnx", "input": {"width": 224, "height": 224}, "output": {"tokens": 6, "dim": 768}, "scoring": {"rule": "pdf-argmax"} }""", TestContext.Current.CancellationToken);

        var (code, _, stderr) = await CliProcess.RunAsync(Quick, "model", "validate", manifest);

        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("absent.onnx", stderr, StringComparison.Ordinal);
    }
}
