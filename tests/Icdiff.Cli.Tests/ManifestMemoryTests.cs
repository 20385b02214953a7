using System.Diagnostics;

namespace Icdiff.Cli.Tests;

/// <summary>
/// A manifest whose first line is 400 MB long (a sparse file: no disk used) is refused with one line naming file and
/// line, and the process stays small while it reads: the line limit holds while reading, not after the line is in
/// memory (which took the CLI to 2.7 GB). The child runs under a 256 MB GC heap limit, so holding the line (800 MB of
/// UTF-16) would end in an OutOfMemoryException; where GNU time is installed its peak resident size is measured too.
/// </summary>
public sealed class ManifestMemoryTests
{
    private const long LineBytes = 400L * 1024 * 1024;
    private const int PeakBoundMegabytes = 300;

    [Theory]
    [InlineData(".jsonl", "{\"uri\":\"")]
    [InlineData(".csv", "uri\n")]
    public async Task AManifestWithA400MegabyteLine_IsOneErrorLine_AndThePeakMemoryStaysSmall(string extension, string start)
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-hugeline-").FullName;
        var manifest = Path.Combine(folder, "huge" + extension);
        await using (var file = File.Create(manifest))
        {
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(start), TestContext.Current.CancellationToken);
            // The rest of the line is a hole of NUL bytes: 400 MB to read, none of it on disk.
            file.SetLength(LineBytes);
        }

        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        File.WriteAllBytes(Path.Combine(images, "x.png"), [1]);
        var line = start.EndsWith('\n') ? 2 : 1;

        var (code, stderr, peakKb) = await RunMeasuredAsync(["audit", "--gallery", manifest, "--generated", $"m={images}", "--data-dir", Path.Combine(folder, "data")]);

        Assert.Equal(2, code);
        Assert.Equal($"icdiff: error: --gallery: manifest '{manifest}' line {line}: longer than 1048576 characters.", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => l.StartsWith("icdiff", StringComparison.Ordinal)).Trim());
        TestContext.Current.TestOutputHelper?.WriteLine(peakKb is { } kb ? $"peak resident memory reading a {LineBytes >> 20} MB line: {kb / 1024} MB" : "GNU time (/usr/bin/time) is not installed: peak resident size not measured, the 256 MB heap limit held");
        if (peakKb is { } measured)
        {
            Assert.True(measured / 1024 < PeakBoundMegabytes, $"peak resident memory {measured / 1024} MB is over {PeakBoundMegabytes} MB");
        }
    }

    /// <summary>Runs the CLI under a 256 MB GC heap limit, through GNU time when it is installed (its peak RSS in KB).</summary>
    private static async Task<(int Code, string Stderr, long? PeakKb)> RunMeasuredAsync(string[] args)
    {
        const string Time = "/usr/bin/time";
        var measured = File.Exists(Time);
        var start = new ProcessStartInfo(measured ? Time : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (measured)
        {
            foreach (var a in new[] { "-f", "icdiff-peak-kb %M", "dotnet" })
            {
                start.ArgumentList.Add(a);
            }
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "icdiff.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_GCHeapHardLimit"] = "0x10000000";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        var text = await stderr;
        var peak = text.Split('\n').FirstOrDefault(l => l.StartsWith("icdiff-peak-kb ", StringComparison.Ordinal)) is { } line
            ? long.Parse(line["icdiff-peak-kb ".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : (long?)null;
        return (process.ExitCode, text, peak);
    }
}
