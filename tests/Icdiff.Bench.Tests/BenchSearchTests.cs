using System.Text.Json;

namespace Icdiff.Bench.Tests;

/// <summary>
/// `bench search` at a tiny shape: the baselines run on the benchmark's own vectors and say what they ran on. Speed is
/// not asserted; the provenance, the no-ratio rule for the reference BLAS and the agreement of the answers are.
/// </summary>
public sealed class BenchSearchTests
{
    [Fact]
    public async Task BenchSearch_NamesEachBaselinesBlasAndVersion_GivesNoRatioAgainstTheReferenceBlas_AndAgreesOnTheTopK()
    {
        Assert.SkipWhen(!File.Exists("/usr/bin/python3") || !PythonHas("numpy"), "/usr/bin/python3 with numpy is needed (Debian python3-numpy; .ci/run installs it)");
        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(5), "search", "--shapes", "24x3000x64,40x2500x96", "--repeat", "1");
        var shapes = figures.RootElement.GetProperty("search").EnumerateArray().ToArray();
        Assert.Equal([(24, 3000, 64), (40, 2500, 96)], shapes.Select(s => (s.GetProperty("queries").GetInt32(), s.GetProperty("gallery").GetInt32(), s.GetProperty("dim").GetInt32())));
        foreach (var shape in shapes)
        {
            Assert.True(shape.GetProperty("oursGflops").GetDouble() > 0);
            var numpy = shape.GetProperty("numpy");
            var provenance = numpy.GetProperty("provenance").GetString()!;
            Assert.Matches(@"^NumPy \d+\.\d+\S* on (openblas|reference|mkl|blis|unknown) BLAS \(", provenance);
            // Exact search on both sides, random vectors (no ties): the same top-k.
            Assert.Equal(1.0, numpy.GetProperty("agreement").GetDouble());
            AssertRatioRule(numpy, provenance.Contains(" on openblas BLAS", StringComparison.Ordinal) || provenance.Contains(" on mkl BLAS", StringComparison.Ordinal) || provenance.Contains(" on blis BLAS", StringComparison.Ordinal));

            var faiss = shape.GetProperty("faiss");
            if (PythonHas("faiss"))
            {
                var faissProvenance = faiss.GetProperty("provenance").GetString()!;
                Assert.Matches(@"^FAISS \d+\.\d+\S* IndexFlatIP on \w+ BLAS, \d+ threads$", faissProvenance);
                Assert.Equal(1.0, faiss.GetProperty("agreement").GetDouble());
                AssertRatioRule(faiss, !faissProvenance.Contains(" on reference BLAS", StringComparison.Ordinal) && !faissProvenance.Contains(" on unknown BLAS", StringComparison.Ordinal));
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, faiss.GetProperty("ratio").ValueKind);
                Assert.Contains("python3-faiss", faiss.GetProperty("noRatio").GetString(), StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("10x20", "--shapes: '10x20' is not QUERIESxGALLERYxDIM")]
    [InlineData("10x0x4", "--shapes: '10x0x4' is not QUERIESxGALLERYxDIM")]
    [InlineData("1x9000000x768", "--shapes: '1x9000000x768' needs 26367 MiB of gallery vectors")]
    public async Task BenchSearch_RejectsBadShapes_WithOneLine(string shapes, string message)
    {
        var work = Directory.CreateTempSubdirectory("icdiff-bench-search-bad-").FullName;
        var (code, _, stderr) = await CliProcess.RunBenchToolAsync(TimeSpan.FromMinutes(1), "search", "--shapes", shapes, "--work", work);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    /// <summary>A ratio only against a real BLAS; otherwise none, and the reason says so.</summary>
    private static void AssertRatioRule(JsonElement baseline, bool realBlas)
    {
        if (realBlas)
        {
            Assert.True(baseline.GetProperty("ratio").GetDouble() > 0, $"{baseline}");
            Assert.Equal(JsonValueKind.Null, baseline.GetProperty("noRatio").ValueKind);
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, baseline.GetProperty("ratio").ValueKind);
            Assert.Contains("no baseline", baseline.GetProperty("noRatio").GetString(), StringComparison.Ordinal);
        }
    }

    private static bool PythonHas(string module)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", ["-c", $"import {module}"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
