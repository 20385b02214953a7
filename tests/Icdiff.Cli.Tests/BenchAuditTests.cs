using System.Text.Json;

namespace Icdiff.Cli.Tests;

/// <summary>
/// `bench audit` end to end: it runs the real audit in each stage layout and reports it against stages measured in
/// the same layout. Speed is not asserted (a shared CI machine's figures mean nothing); the figures' consistency is.
/// </summary>
public sealed class BenchAuditTests
{
    [Fact]
    public async Task BenchAudit_MeasuresEveryLayout_AgainstItsOwnStages()
    {
        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(15), "audit", "--repeat", "1");
        var layouts = figures.RootElement.GetProperty("audit").EnumerateArray().ToArray();
        var expected = Environment.ProcessorCount > 1 ? new[] { "shared", "shared-1", "split" } : ["shared"];
        Assert.Equal(expected, layouts.Select(l => l.GetProperty("layout").GetString()));
        foreach (var layout in layouts)
        {
            Assert.Equal(1800, layout.GetProperty("images").GetInt32());
            var audit = layout.GetProperty("imagesPerSecond").GetDouble();
            var decode = layout.GetProperty("decodePerSecond").GetDouble();
            var embed = layout.GetProperty("embedPerSecond").GetDouble();
            Assert.True(audit > 0 && decode > 0 && embed > 0, $"{layout}");
            // The ratio is the audit over the slower stage of the same repetition (one repetition: the same figures).
            Assert.Equal(audit / Math.Min(decode, embed), layout.GetProperty("ratioToSlowestStage").GetDouble(), 6);
        }

        var split = layouts.SingleOrDefault(l => l.GetProperty("layout").GetString() == "split");
        if (split.ValueKind == JsonValueKind.Object)
        {
            Assert.Equal(Environment.ProcessorCount - 1, split.GetProperty("decodeWorkers").GetInt32());
            Assert.Equal(1, split.GetProperty("inferenceThreads").GetInt32());
        }
    }
}
