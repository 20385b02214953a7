using System.Text.Json;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Tests;

/// <summary>
/// What a ratio means, through the CLI: the match rule in every report with the other rule's ratio beside it, levels
/// the built-in model cannot grade never reported, and a control corpus's false-replica rate as the floor.
/// </summary>
public sealed class MatchRuleTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Audit_ReportsBothRules_TheControlFloor_AndNoUngradedLevels()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-rules-").FullName;
        // "fresh" has no replica at all: it is the control, images known not to be in the gallery.
        var spec = new DemoCorpusSpec(120, [new SyntheticModelSpec("m", [28, 2, 2, 2, 6, 6]), new SyntheticModelSpec("fresh", [40, 0, 0, 0, 0, 0])], 77);
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), spec, null, Token);
        string[] common = ["audit", "--gallery", corpus.GalleryPath, "--generated", $"m={corpus.ModelPaths["m"]}", "--control", corpus.ModelPaths["fresh"], "--data-dir", Path.Combine(root, "data")];

        var top1 = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), [.. common, "--out", Path.Combine(root, "top1")]);
        var maxLevel = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), [.. common, "--match-rule", "max-level", "--out", Path.Combine(root, "max-level")]);

        Assert.True(top1.ExitCode == 0, top1.Stderr);
        Assert.True(maxLevel.ExitCode == 0, maxLevel.Stderr);
        using var a = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "top1", "report.json"), Token));
        using var b = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "max-level", "report.json"), Token));
        Assert.Equal("top1", a.RootElement.GetProperty("matchRule").GetString());
        Assert.Equal("max-level", b.RootElement.GetProperty("matchRule").GetString());
        var modelA = a.RootElement.GetProperty("models").EnumerateArray().Single();
        var modelB = b.RootElement.GetProperty("models").EnumerateArray().Single();
        Assert.Equal("m", modelA.GetProperty("summary").GetProperty("model").GetString());

        // Each run's other-rule ratio is the other run's ratio: both come from the same scan of the same candidates.
        Assert.True(modelA.GetProperty("summary").GetProperty("altRecorded").GetBoolean());
        Assert.Equal(modelB.GetProperty("summary").GetProperty("replicas").GetInt32(), modelA.GetProperty("summary").GetProperty("altReplicas").GetInt32());
        Assert.Equal(modelA.GetProperty("summary").GetProperty("replicas").GetInt32(), modelB.GetProperty("summary").GetProperty("altReplicas").GetInt32());
        var cumulative = modelA.GetProperty("cumulativeRatios").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        Assert.Equal(5, cumulative.Length);
        Assert.Equal(modelA.GetProperty("summary").GetProperty("ratio").GetDouble(), cumulative[3], 9);
        Assert.True(cumulative.Zip(cumulative.Skip(1)).All(p => p.First >= p.Second), "cumulative ratios must not grow with the level");

        // The control: scanned beside the model, reported apart, its rate the floor the model's interval clears.
        var control = a.RootElement.GetProperty("control");
        Assert.Equal(40, control.GetProperty("summary").GetProperty("scanned").GetInt32());
        var floor = control.GetProperty("summary").GetProperty("ratio").GetDouble();
        Assert.True(floor < 0.05, $"fresh images should rarely read as replicas; floor {floor}");
        Assert.Equal(modelA.GetProperty("summary").GetProperty("lower").GetDouble() > floor, modelA.GetProperty("clearsControl").GetBoolean());
        Assert.Contains("Control floor: 40 images not in the gallery", top1.Stdout, StringComparison.Ordinal);

        // The built-in model grades 0, 4 and 5 only: no image is counted at levels 1-3, and the page says "not graded".
        Assert.Equal([0, 4, 5], a.RootElement.GetProperty("gradedLevels").EnumerateArray().Select(l => l.GetInt32()));
        foreach (var summary in new[] { modelA.GetProperty("summary"), control.GetProperty("summary") })
        {
            var histogram = summary.GetProperty("levelHistogram").EnumerateArray().Select(l => l.GetInt32()).ToArray();
            Assert.Equal([0, 0, 0], histogram[1..4]);
        }

        var page = await File.ReadAllTextAsync(Path.Combine(root, "top1", "report.html"), Token);
        Assert.Contains("ratio under max-level", page, StringComparison.Ordinal);
        Assert.Contains("clears the control floor", page, StringComparison.Ordinal);
        Assert.Contains("not graded", page, StringComparison.Ordinal);
        var csv = await File.ReadAllLinesAsync(Path.Combine(root, "top1", "matches.csv"), Token);
        Assert.Equal("model,image,best_match,level,score,replica,other_rule_match,other_rule_level", csv[0]);
        Assert.Equal(46 + 40, csv.Length - 1);
        Assert.DoesNotContain(csv.Skip(1), line => line.Split(',')[^1].Length == 0);
    }

    [Fact]
    public async Task Audit_RefusesAModelNamedLikeTheControl_AndAnUnknownRule()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-rules-bad-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(5), null, Token);

        var reserved = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), ["audit", "--gallery", corpus.GalleryPath, "--generated", $"_control={corpus.ModelPaths["model-a"]}", "--out", Path.Combine(root, "out")]);
        var rule = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), ["audit", "--gallery", corpus.GalleryPath, "--generated", $"a={corpus.ModelPaths["model-a"]}", "--match-rule", "best", "--out", Path.Combine(root, "out")]);

        Assert.Equal(2, reserved.ExitCode);
        Assert.Contains("reserved for the --control corpus", reserved.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, rule.ExitCode);
        Assert.Contains("match rule must be 'top1' or 'max-level'", rule.Stderr, StringComparison.Ordinal);
    }
}
