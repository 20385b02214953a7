using System.Text.Json;

namespace Icdiff.Bench.Tests;

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
        var expected = cores > 1 ? new[] { "default", "every-core", "per-core", "shared-1", "split" } : ["default"];
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
        if (cores > 1)
        {
            // The built-in model is light (well under a decode per image): the default gives it one thread per
            // inference, as many side by side as there are cores, and says what it measured.
            Assert.Equal((cores, 1, cores), Layout(byName["default"]));
            Assert.InRange(byName["default"].GetProperty("probedCoreMillisecondsPerImage").GetDouble(), 1e-6, 4);
            Assert.Equal((cores, cores, 1), Layout(byName["every-core"]));
            Assert.Equal(JsonValueKind.Null, byName["every-core"].GetProperty("probedCoreMillisecondsPerImage").ValueKind);
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

/// <summary>
/// The ViT-B/16-sized benchmark model (`bench vit-model`) is a real ONNX graph ONNX Runtime runs, and `bench audit`
/// measures it in the layouts asked for, with the image count asked for.
/// </summary>
public sealed class BenchVitModelTests
{
    [Fact]
    public async Task VitSizedModel_OneBlock_RunsThroughTheAuditBenchmark_InTheLayoutAsked()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-vit-").FullName;
        var (code, stdout, stderr) = await CliProcess.RunBenchToolAsync(TimeSpan.FromMinutes(2), "vit-model", "--out", folder, "--depth", "1");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var manifest = Path.Combine(folder, "model.json");
        using (var written = JsonDocument.Parse(await File.ReadAllTextAsync(manifest, TestContext.Current.CancellationToken)))
        {
            Assert.Equal(6, written.RootElement.GetProperty("output").GetProperty("tokens").GetInt32());
            Assert.Equal(768, written.RootElement.GetProperty("output").GetProperty("dim").GetInt32());
            Assert.Equal(224, written.RootElement.GetProperty("input").GetProperty("width").GetInt32());
        }

        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(5), "audit", "--model", manifest, "--images", "24", "--layouts", "default", "--repeat", "1");
        Assert.Equal(manifest, figures.RootElement.GetProperty("model").GetString());
        var row = Assert.Single(figures.RootElement.GetProperty("audit").EnumerateArray());
        Assert.Equal("default", row.GetProperty("layout").GetString());
        Assert.Equal(24, row.GetProperty("images").GetInt32());
        Assert.True(row.GetProperty("embedPerSecond").GetDouble() > 0, $"{row}");
        // Even one ViT-B block costs far more per image than a decode: the default spreads each inference over every core.
        Assert.Equal(Environment.ProcessorCount, row.GetProperty("inferenceThreads").GetInt32());
        Assert.Equal(1, row.GetProperty("inferenceWorkers").GetInt32());
    }

    [Theory]
    [InlineData("--layouts", "default,sideways", "--layouts: unknown layout 'sideways' (known: default, every-core, per-core, shared-1, split).")]
    [InlineData("--images", "3", "--images must be 6..100000 (got 3).")]
    public async Task BenchAudit_RejectsBadArguments_WithOneLine(string option, string value, string message)
    {
        var work = Directory.CreateTempSubdirectory("icdiff-bench-bad-").FullName;
        var (code, _, stderr) = await CliProcess.RunBenchToolAsync(TimeSpan.FromMinutes(1), "audit", option, value, "--work", work);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

/// <summary>`bench decode` reports every image kind, and for JPEGs the bare libjpeg-turbo floor beside our decode.</summary>
public sealed class BenchDecodeTests
{
    [Fact]
    public async Task BenchDecode_ReportsEveryKind_AndTheBareLibjpegTurboFloorForJpegs()
    {
        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(10), "decode", "--repeat", "1");
        var rows = figures.RootElement.GetProperty("decode").EnumerateArray().ToArray();
        Assert.Equal(["png-512", "jpeg-1mp", "jpeg-3mp"], rows.Select(r => r.GetProperty("kind").GetString()));
        foreach (var row in rows)
        {
            Assert.True(row.GetProperty("oursSingleCore").GetDouble() > 0, $"{row}");
            var kind = row.GetProperty("kind").GetString()!;
            var bare = row.GetProperty("bareLibjpegTurboSingleCore");
            if (kind.StartsWith("jpeg", StringComparison.Ordinal) && row.GetProperty("jpegDecoder").GetString()!.Contains("turbo", StringComparison.OrdinalIgnoreCase))
            {
                Assert.True(bare.GetDouble() > 0, $"{row}");
                Assert.Equal(row.GetProperty("oursSingleCore").GetDouble() / bare.GetDouble(), row.GetProperty("ratioToBareLibjpegTurbo").GetDouble(), 6);
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, bare.ValueKind);
            }
        }
    }
}
