using System.Text.Json;
using System.Text.RegularExpressions;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Tests;

/// <summary>
/// The hostile corpus (every kind of bad or odd file a scrape or a model dump holds) mixed into the gallery and into
/// one model's corpus of a demo: the audit completes, lists every hostile file with its reason, scores the odd but
/// valid ones, gives the clean part exactly the result of a run without the hostile files, escapes every name in
/// the report, writes nothing but its three report files, and stays under a stated memory bound.
/// </summary>
public sealed partial class HostileCorpusTests
{
    /// <summary>The stated bound for this corpus (~400 images, a 60000x60000 bomb among them); measured ~300-450 MB.</summary>
    private const int PeakMemoryBoundMegabytes = 1024;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HostileFilesMixedIntoADemo_AreEachAccountedFor_AndLeaveTheCleanResultUnchanged()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-hostile-").FullName;
        var clean = DemoCorpusBuilder.Build(Path.Combine(root, "clean"), DemoCorpusSpec.Small(41), null, Token);
        var mixed = DemoCorpusBuilder.Build(Path.Combine(root, "mixed"), DemoCorpusSpec.Small(41), null, Token);
        var galleryHostile = HostileCorpus.Build(Path.Combine(mixed.GalleryPath, "hostile"), 987_001);
        var modelHostile = HostileCorpus.Build(Path.Combine(mixed.ModelPaths["model-a"], "hostile"), 987_002);
        Assert.True(modelHostile.Select(f => f.Kind).Distinct().Count() >= 20, $"only {modelHostile.Count} hostile kinds");

        string[] Args(DemoCorpus corpus, string name) =>
            ["audit", "--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}",
             "--out", Path.Combine(root, $"{name}-out"), "--data-dir", Path.Combine(root, $"{name}-data")];
        var cleanRun = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), Args(clean, "clean"));
        var mixedRun = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), Args(mixed, "mixed"));
        Assert.True(cleanRun.ExitCode == 0, cleanRun.Stderr);
        Assert.True(mixedRun.ExitCode == 0, $"{mixedRun.Stdout}\n{mixedRun.Stderr}");
        Assert.DoesNotContain("   at ", mixedRun.Stderr, StringComparison.Ordinal);

        using var cleanReport = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "clean-out", "report.json"), Token));
        using var mixedReport = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "mixed-out", "report.json"), Token));

        // Gallery: every hostile skip listed with its reason; the valid odd ones indexed.
        var gallerySkips = mixedReport.RootElement.GetProperty("gallerySkipped").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, s => s.GetProperty("reason").GetString());
        foreach (var file in galleryHostile.Where(f => f.Outcome == HostileOutcome.Skipped))
        {
            Assert.True(gallerySkips.TryGetValue($"hostile/{file.Key}", out var reason), $"gallery: {file.Kind} ({file.Key}) not listed as skipped");
            Assert.Equal(file.Reason, reason);
        }

        Assert.Equal(galleryHostile.Count(f => f.Outcome == HostileOutcome.Skipped), gallerySkips.Count);
        Assert.Equal(
            cleanReport.RootElement.GetProperty("galleryIndexed").GetInt32() + galleryHostile.Count(f => f.Outcome == HostileOutcome.Scored),
            mixedReport.RootElement.GetProperty("galleryIndexed").GetInt32());

        // Model A: every hostile file skipped with its reason, scored, or (a folder) not listed at all.
        var modelA = Model(mixedReport, "model-a");
        var skips = modelA.GetProperty("skipped").EnumerateArray().ToDictionary(s => s.GetProperty("key").GetString()!, s => s.GetProperty("reason").GetString());
        var scored = modelA.GetProperty("matches").EnumerateArray().Select(m => m.GetProperty("key").GetString()!).ToHashSet(StringComparer.Ordinal);
        foreach (var file in modelHostile)
        {
            var key = $"hostile/{file.Key}";
            switch (file.Outcome)
            {
                case HostileOutcome.Skipped:
                    Assert.True(skips.TryGetValue(key, out var reason), $"{file.Kind} ({file.Key}) not listed as skipped");
                    Assert.Equal(file.Reason, reason);
                    break;
                case HostileOutcome.Scored:
                    Assert.True(scored.Contains(key), $"{file.Kind} ({file.Key}) was not scored{(skips.TryGetValue(key, out var why) ? $" (skipped: {why})" : "")}");
                    break;
                default:
                    Assert.False(scored.Contains(key) || skips.ContainsKey(key), $"{file.Kind} ({file.Key}) was listed");
                    break;
            }
        }

        // The clean part: every clean image's level, and for those with a match (level 1 or more) the very gallery image
        // and score, as without the hostile files; so each model's ratio too. (The valid odd images added to the gallery
        // may become the nearest, unrelated, neighbour of an image with no match: its level stays 0.)
        foreach (var model in new[] { "model-a", "model-b" })
        {
            var expected = Matches(Model(cleanReport, model));
            var actual = Matches(Model(mixedReport, model)).Where(m => !m.Key.StartsWith("hostile/", StringComparison.Ordinal)).ToDictionary();
            Assert.Equal(expected.Count, actual.Count);
            Assert.All(expected, e => Assert.Equal(e.Value.Level, actual[e.Key].Level));
            Assert.All(expected.Where(e => e.Value.Level > 0), e => Assert.Equal(e.Value, actual[e.Key]));
            var cleanSummary = Model(cleanReport, model).GetProperty("summary");
            var replicas = actual.Values.Count(v => v.Level >= 4);
            Assert.Equal(cleanSummary.GetProperty("replicas").GetInt32(), replicas);
            Assert.Equal(cleanSummary.GetProperty("ratio").GetDouble(), replicas / (double)actual.Count, 12);
        }

        // Names are escaped wherever the page shows them, and nothing is written besides the report.
        var html = await File.ReadAllTextAsync(Path.Combine(root, "mixed-out", "report.html"), Token);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.Equal(["matches.csv", "report.html", "report.json"], Directory.GetFiles(Path.Combine(root, "mixed-out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var peak = int.Parse(PeakMemory().Match(mixedRun.Stdout).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(peak < PeakMemoryBoundMegabytes, $"peak memory {peak} MB is over the stated bound of {PeakMemoryBoundMegabytes} MB");
    }

    private static JsonElement Model(JsonDocument report, string name) =>
        report.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("summary").GetProperty("model").GetString() == name);

    private static Dictionary<string, (string? Gallery, int Level, double Score)> Matches(JsonElement model) =>
        model.GetProperty("matches").EnumerateArray().ToDictionary(
            m => m.GetProperty("key").GetString()!,
            m => (m.GetProperty("galleryKey").GetString(), m.GetProperty("level").GetInt32(), Math.Round(m.GetProperty("similarity").GetDouble(), 6)));

    [GeneratedRegex(@"Peak memory: \d+ MB now, (\d+) MB at most")]
    private static partial Regex PeakMemory();
}
