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
        var cores = Environment.ProcessorCount;
        var expected = cores > 1 ? new[] { "default", "per-core", "shared-1", "split" } : ["default"];
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

        // Each row reports the layout it ran with, as the silo resolved it: chosen (default, per-core) or set.
        var byName = layouts.ToDictionary(l => l.GetProperty("layout").GetString()!);
        Assert.Equal((cores, cores, 1), Layout(byName["default"]));
        if (cores > 1)
        {
            // One thread per inference: the built-in model's embedder runs one per core, and the pipeline may admit them.
            Assert.Equal((cores, 1, cores), Layout(byName["per-core"]));
            Assert.Contains("a further one while the queue backs up", byName["per-core"].GetProperty("chosen").GetString(), StringComparison.Ordinal);
            Assert.Equal((cores, 1, 1), Layout(byName["shared-1"]));
            Assert.Equal((cores - 1, 1, 1), Layout(byName["split"]));
        }

        static (int Decoders, int Threads, int Inferences) Layout(JsonElement row) =>
            (row.GetProperty("decodeWorkers").GetInt32(), row.GetProperty("inferenceThreads").GetInt32(), row.GetProperty("inferenceWorkers").GetInt32());
    }
}
