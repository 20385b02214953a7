using System.Diagnostics;
using System.Text.Json;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Tests;

/// <summary>
/// An embedded audit killed with SIGKILL part-way resumes from its data directory and gives the uninterrupted result.
/// Each model is one shard recorded in checkpoints of two items, so the kill lands inside a shard: the resumed run
/// must redo only the items not yet recorded, which the stored deliveries show (every item in exactly one).
/// </summary>
public sealed class ResumeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AuditKilledMidShard_ResumesToTheUninterruptedResult_RedoingOnlyUnrecordedItems()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-resume-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(31), null, Token);
        string[] common = ["--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}", "--shard-size", "1000"];
        var checkpoints = new Dictionary<string, string> { ["Icdiff__Silo__CheckpointItems"] = "2" };
        var whole = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), checkpoints, null, ["audit", .. common, "--out", Path.Combine(root, "whole"), "--data-dir", Path.Combine(root, "whole-data")]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        // Start the same audit and kill it (SIGKILL: no chance to clean up) as soon as its first checkpoints are stored.
        var data = Path.Combine(root, "killed-data");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["Icdiff__Silo__CheckpointItems"] = "2";
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "icdiff.dll"), "audit" }.Concat(common).Concat(["--out", Path.Combine(root, "killed"), "--data-dir", data]))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var runsFolder = Path.Combine(data, "runs");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (RecordedItems(runsFolder) < 6 && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Token);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(Token);
        var recordedAtKill = RecordedItems(runsFolder);
        var total = corpus.Spec.Models.Sum(m => m.Total);
        Assert.InRange(recordedAtKill, 1, total - 1);
        var runId = (await stdout).Split('\n').First(l => l.StartsWith("Run ", StringComparison.Ordinal)).Split(' ', ':')[1];

        var listed = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "runs", "--data-dir", data);
        var resumed = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), checkpoints, null, "resume", runId, "--data-dir", data, "--out", Path.Combine(root, "resumed"));

        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Contains(runId, listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("Scanning", listed.Stdout, StringComparison.Ordinal);
        Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "whole")), await ReportResult.ReadAsync(Path.Combine(root, "resumed")));
        Assert.Equal(total, RecordedItems(runsFolder));
    }

    /// <summary>Items in all stored deliveries, counted with repeats: equal to the corpus size only if no item was redone.</summary>
    private static int RecordedItems(string runsFolder)
    {
        if (!Directory.Exists(runsFolder))
        {
            return 0;
        }

        var items = 0;
        foreach (var file in Directory.EnumerateFiles(runsFolder, "*.json", SearchOption.AllDirectories).Where(f => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f))) == "models"))
        {
            try
            {
                using var delivery = JsonDocument.Parse(File.ReadAllBytes(file));
                items += delivery.RootElement.GetProperty("Matches").GetArrayLength() + delivery.RootElement.GetProperty("Skipped").GetArrayLength();
            }
            catch (IOException)
            {
                // Renamed into place while listed; counted on the next poll.
            }
        }

        return items;
    }
}
