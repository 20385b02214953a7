using System.Text.Json;

namespace Icdiff.Bench.Tests;

/// <summary>
/// `bench scale` at a tiny size, end to end: worker silos as child processes, the gallery built through the sharded
/// router, the queries searched by the silos. Speed is not asserted; the answers and the clean-up are.
/// </summary>
public sealed class BenchScaleTests
{
    [Fact]
    public async Task BenchScale_FindsEveryPlantedCopy_EqualsTheExhaustiveSearch_AndLeavesNoSiloRunning()
    {
        var work = Directory.CreateTempSubdirectory("icdiff-bench-scale-").FullName;
        var json = Path.Combine(work, "figures.json");
        var (code, stdout, stderr) = await CliProcess.RunBenchToolAsync(
            TimeSpan.FromMinutes(10), "scale", "--sizes", "3000,6000", "--queries", "200", "--exhaustive", "200", "--warmup", "0", "--k", "10", "--token-cache-mb", "16", "--work", work, "--out", json);
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        TestContext.Current.TestOutputHelper?.WriteLine(stdout);

        using var figures = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        var sizes = figures.RootElement.GetProperty("sizes").EnumerateArray().ToArray();
        Assert.Equal([3000, 6000], sizes.Select(s => s.GetProperty("gallery").GetInt32()));
        foreach (var size in sizes)
        {
            // One query in ten is a noisy copy of a gallery vector: each must find it first.
            Assert.Equal(20, size.GetProperty("planted").GetInt32());
            Assert.Equal(20, size.GetProperty("plantedFoundTop1").GetInt32());
            // The sharded top-k equals the exhaustive float32 top-k, rows and scores, for every query checked.
            Assert.Equal(200, size.GetProperty("exhaustiveChecked").GetInt32());
            Assert.Equal(200, size.GetProperty("exhaustiveIdentical").GetInt32());
            var silos = size.GetProperty("silos").EnumerateArray().ToArray();
            Assert.Equal(2, silos.Length);
            if (OperatingSystem.IsLinux())
            {
                Assert.All(silos, s => Assert.True(s.GetProperty("peakBytes").GetInt64() >= s.GetProperty("idlePeakBytes").GetInt64() && s.GetProperty("idlePeakBytes").GetInt64() > 0, $"{s}"));
            }
        }

        // Each size's data folder is removed with its silos; no silo process of this run outlives it.
        Assert.Empty(Directory.GetDirectories(work, "data-*"));
        if (OperatingSystem.IsLinux())
        {
            var survivors = Directory.GetDirectories("/proc")
                .Select(d => Path.Combine(d, "cmdline"))
                .Where(f => int.TryParse(Path.GetFileName(Path.GetDirectoryName(f)), out _))
                .Select(f => { try { return File.ReadAllText(f); } catch (IOException) { return ""; } catch (UnauthorizedAccessException) { return ""; } })
                .Where(c => c.Contains("scale-silo", StringComparison.Ordinal) && c.Contains(work, StringComparison.Ordinal))
                .ToList();
            Assert.Empty(survivors);
        }
    }

    [Theory]
    [InlineData("--sizes", "ten", "--sizes: 'ten' is not a gallery size")]
    [InlineData("--silos", "0", "--silos must be 1..16 (got 0).")]
    [InlineData("--exhaustive", "20000", "--exhaustive must be 0..10000 (got 20000).")]
    public async Task BenchScale_RejectsBadArguments_WithOneLine(string option, string value, string message)
    {
        var work = Directory.CreateTempSubdirectory("icdiff-bench-scale-args-").FullName;
        var (code, _, stderr) = await CliProcess.RunBenchToolAsync(TimeSpan.FromMinutes(1), "scale", option, value, "--work", work);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
