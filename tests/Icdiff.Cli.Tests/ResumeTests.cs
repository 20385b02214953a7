using System.Diagnostics;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Tests;

/// <summary>An embedded audit killed with SIGKILL part-way resumes from its data directory and gives the uninterrupted result.</summary>
public sealed class ResumeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AuditKilledMidScan_ResumesToTheUninterruptedResult_RedoingOnlyUnstoredShards()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-resume-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(31), null, Token);
        string[] common = ["--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}", "--shard-size", "2"];
        var whole = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), ["audit", .. common, "--out", Path.Combine(root, "whole"), "--data-dir", Path.Combine(root, "whole-data")]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        // Start the same audit and kill it (SIGKILL: no chance to clean up) as soon as its first shards are stored.
        var data = Path.Combine(root, "killed-data");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "icdiff.dll"), "audit" }.Concat(common).Concat(["--out", Path.Combine(root, "killed"), "--data-dir", data]))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var runsFolder = Path.Combine(data, "runs");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (StoredShards(runsFolder) < 3 && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Token);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(Token);
        var storedAtKill = StoredShards(runsFolder);
        var totalShards = corpus.Spec.Models.Sum(m => (m.Total + 1) / 2);
        Assert.InRange(storedAtKill, 1, totalShards - 1);
        var runId = (await stdout).Split('\n').First(l => l.StartsWith("Run ", StringComparison.Ordinal)).Split(' ', ':')[1];

        var listed = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "runs", "--data-dir", data);
        var resumed = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), "resume", runId, "--data-dir", data, "--out", Path.Combine(root, "resumed"));

        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Contains(runId, listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("Scanning", listed.Stdout, StringComparison.Ordinal);
        Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "whole")), await ReportResult.ReadAsync(Path.Combine(root, "resumed")));
        Assert.Equal(totalShards, StoredShards(runsFolder));
    }

    private static int StoredShards(string runsFolder) =>
        Directory.Exists(runsFolder) ? Directory.EnumerateFiles(runsFolder, "*.json", SearchOption.AllDirectories).Count(f => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f))) == "models") : 0;
}
