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
        // One image per inference: the 80 items finish one after another, not in one burst, so the kill lands mid-run
        // (with the default batches every piece completed within a few milliseconds on an idle machine).
        var checkpoints = new Dictionary<string, string> { ["Icdiff__Silo__CheckpointItems"] = "2", ["Icdiff__Pipeline__EmbedBatchSize"] = "1" };
        var whole = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), checkpoints, null, ["audit", .. common, "--out", Path.Combine(root, "whole"), "--data-dir", Path.Combine(root, "whole-data")]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        // Start the same audit and kill it (SIGKILL: no chance to clean up) as soon as its first checkpoints are stored.
        var data = Path.Combine(root, "killed-data");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in checkpoints)
        {
            start.Environment[name] = value;
        }
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

    /// <summary>
    /// Ctrl-C (a real SIGINT) stops an audit started with relative paths promptly and leaves it resumable; resumed from
    /// another directory that holds different folders under the same names, the run finishes the original corpus (its
    /// locations were recorded absolute) with the uninterrupted result; and once the original gallery folder is replaced
    /// by another, resume stops with one line instead of mixing the two.
    /// </summary>
    [Fact]
    public async Task CtrlC_StopsARelativePathAudit_ResumeFromElsewhereFinishesTheOriginalCorpus_AndAReplacedFolderIsRefused()
    {
        Assert.SkipWhen(!OperatingSystem.IsLinux(), "SIGINT is sent with kill(2)");
        // A shell starts background jobs with SIGINT ignored, and children inherit that: the audit could not see Ctrl-C.
        Assert.SkipWhen(SigIntIgnoredHere(), "SIGINT is ignored in this test process (it was started as a background job), so the audit it starts would inherit that and never see the signal");
        var root = Directory.CreateTempSubdirectory("icdiff-sigint-").FullName;
        var here = Path.Combine(root, "here");
        var elsewhere = Path.Combine(root, "elsewhere");
        var corpus = DemoCorpusBuilder.Build(Path.Combine(here, "corpus"), DemoCorpusSpec.Small(33), null, Token);
        // Another corpus under the same relative names, in the directory the resume runs from.
        DemoCorpusBuilder.Build(Path.Combine(elsewhere, "corpus"), DemoCorpusSpec.Small(34), null, Token);
        string Relative(string path) => Path.GetRelativePath(here, path);
        string[] common = ["--gallery", Relative(corpus.GalleryPath), "--generated", $"model-a={Relative(corpus.ModelPaths["model-a"])}", "--generated", $"model-b={Relative(corpus.ModelPaths["model-b"])}", "--shard-size", "8"];
        Assert.DoesNotContain(common, a => Path.IsPathRooted(a) || a.Contains("=/", StringComparison.Ordinal));
        // One shard in flight at a time: Ctrl-C lets the shard in flight finish (its results are valid) and starts no other.
        var checkpoints = new Dictionary<string, string>
        {
            ["Icdiff__Silo__CheckpointItems"] = "2",
            ["Icdiff__Silo__MaxShardsInFlight"] = "1",
            ["Icdiff__Pipeline__EmbedBatchSize"] = "1",
            ["Icdiff__Pipeline__DecodeWorkers"] = "1",
            ["Icdiff__Onnx__IntraOpThreads"] = "1",
        };
        var whole = await CliProcess.RunInAsync(TimeSpan.FromMinutes(5), here, checkpoints, ["audit", .. common, "--out", Path.Combine(root, "whole"), "--data-dir", Path.Combine(root, "whole-data")]);
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var data = Path.Combine(root, "data");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = here };
        foreach (var (name, value) in checkpoints)
        {
            start.Environment[name] = value;
        }

        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "icdiff.dll"), "audit" }.Concat(common).Concat(["--out", Path.Combine(root, "interrupted"), "--data-dir", data]))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var stderr = process.StandardError.ReadToEndAsync(Token);
        var runsFolder = Path.Combine(data, "runs");
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (RecordedItems(runsFolder) < 6 && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Token);
        }

        // The signal goes straight from this process (kill(2)): starting kill(1) under load took longer than the rest of the run.
        Assert.Equal(0, SendSignal(process.Id, SigInt));

        var stopping = Stopwatch.StartNew();
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await process.WaitForExitAsync(bound.Token);
        }

        var stopped = stopping.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine($"stopped {stopped.TotalSeconds:0.0} s after SIGINT, {RecordedItems(runsFolder)} items recorded");
        Assert.True(stopped < TimeSpan.FromSeconds(20), $"the audit took {stopped} to stop after SIGINT");
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("icdiff: cancelled.", await stderr, StringComparison.Ordinal);
        var total = corpus.Spec.Models.Sum(m => m.Total);
        Assert.InRange(RecordedItems(runsFolder), 1, total - 1);
        var runId = (await stdout).Split('\n').First(l => l.StartsWith("Run ", StringComparison.Ordinal)).Split(' ', ':')[1];

        var resumed = await CliProcess.RunInAsync(TimeSpan.FromMinutes(5), elsewhere, checkpoints, "resume", runId, "--data-dir", data, "--out", Path.Combine(root, "resumed"));
        Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}");
        Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "whole")), await ReportResult.ReadAsync(Path.Combine(root, "resumed")));

        // The original gallery folder replaced by the other corpus's: a resume (of any run state) now stops with one line.
        Directory.Move(corpus.GalleryPath, corpus.GalleryPath + ".moved");
        Directory.Move(Path.Combine(elsewhere, Relative(corpus.GalleryPath)), corpus.GalleryPath);
        var refused = await CliProcess.RunInAsync(TimeSpan.FromMinutes(2), elsewhere, checkpoints, "resume", runId, "--data-dir", data, "--retry-failed", "--out", Path.Combine(root, "refused"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"icdiff: error: run {runId}: the gallery at '{corpus.GalleryPath}' is not the folder the run audited (it was replaced or moved since the run started); resuming would mix its files into the recorded results. Restore the original folder there, or start a new audit.", refused.Stderr.Trim());
        Assert.False(Directory.Exists(Path.Combine(root, "refused")), "a report was written");
    }

    private const int SigInt = 2;

    /// <summary>Whether this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status).</summary>
    private static bool SigIntIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) & (1UL << (SigInt - 1))) != 0;
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this test project for one int call
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054

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
