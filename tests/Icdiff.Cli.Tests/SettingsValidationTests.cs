namespace Icdiff.Cli.Tests;

/// <summary>
/// Settings that do not parse or are out of range stop the CLI and the silo before anything starts: one line per bad
/// key, all at once, exit code 2, no stack trace and no run in the history.
/// </summary>
public sealed class SettingsValidationTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromMinutes(1);

    private static readonly Dictionary<string, string> Bad = new()
    {
        ["Icdiff__Decoder__MaxPixels"] = "abc",
        ["Icdiff__Decoder__DctOversampling"] = "0",
        ["Icdiff__Decoder__JpegDecoder"] = "libpng",
        ["Icdiff__Pipeline__DecodeTimeout"] = "abc",
        ["Icdiff__Pipeline__ChannelCapacity"] = "1e12",
    };

    private static readonly string[] Expected =
    [
        "Icdiff:Decoder:MaxPixels must be a whole number (64-bit) (got 'abc').",
        "Icdiff:Pipeline:ChannelCapacity must be a whole number from -2147483648 to 2147483647 (got '1e12').",
        "Icdiff:Pipeline:DecodeTimeout must be a time span such as 00:00:30 (hh:mm:ss) (got 'abc').",
        "Icdiff:Decoder:DctOversampling must be 1..8 (got 0).",
        "Icdiff:Decoder:JpegDecoder must be auto or skia (got 'libpng').",
    ];

    [Fact]
    public async Task Audit_WithBadSettings_NamesEveryBadKeyOnItsOwnLine_AndExits2BeforeAnythingStarts()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-settings-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);
        var data = Path.Combine(folder, "data");

        var (code, stdout, stderr) = await CliProcess.RunAsync(Quick, Bad, null, "audit", "--gallery", folder, "--generated", $"m={folder}", "--data-dir", data);

        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(Expected.Select(e => "icdiff: error: " + e).Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Run ", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(data, "runs")), "a run was started");
    }

    [Fact]
    public async Task Audit_WithOutOfRangeDecoderSettings_ListsEachRule_AndResumeChecksThemToo()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-settings-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);
        var environment = new Dictionary<string, string>
        {
            ["Icdiff__Decoder__MaxPixels"] = "-1",
            ["Icdiff__Decoder__DctOversampling"] = "0",
            ["Icdiff__Decoder__JpegDecoder"] = "libpng",
        };

        var audit = await CliProcess.RunAsync(Quick, environment, null, "audit", "--gallery", folder, "--generated", $"m={folder}", "--data-dir", Path.Combine(folder, "data"));
        var serve = await CliProcess.RunAsync(Quick, environment, null, "serve", "--data-dir", Path.Combine(folder, "data"), "--urls", "http://127.0.0.1:0");

        string[] expected =
        [
            "icdiff: error: Icdiff:Decoder:DctOversampling must be 1..8 (got 0).",
            "icdiff: error: Icdiff:Decoder:JpegDecoder must be auto or skia (got 'libpng').",
            "icdiff: error: Icdiff:Decoder:MaxPixels must be positive (got -1).",
        ];
        foreach (var (code, _, stderr) in new[] { audit, serve })
        {
            Assert.Equal(2, code);
            Assert.Equal(expected, stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Silo_WithBadSettings_NamesEveryBadKey_AndExits2BeforeConnecting()
    {
        var environment = new Dictionary<string, string>(Bad) { ["Icdiff__Cluster__Redis"] = "127.0.0.1:1", ["Icdiff__Silo__CheckpointItems"] = "0" };

        var (code, _, stderr) = await CliProcess.RunExecutableAsync(Quick, "icdiff-silo.dll", environment);

        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // The silo's check (also `icdiff-silo --check-config`) names every value it cannot read, and runs a section's own
        // rules once its values read: here the Decoder section's range rules wait for MaxPixels to be a number.
        string[] expected =
        [
            "icdiff-silo: error: Icdiff:Decoder:MaxPixels must be a whole number; its value cannot be read as one.",
            "icdiff-silo: error: Icdiff:Pipeline:ChannelCapacity must be a whole number; its value cannot be read as one.",
            "icdiff-silo: error: Icdiff:Pipeline:DecodeTimeout must be a time span (hh:mm:ss, e.g. 00:02:00); its value cannot be read as one.",
            "icdiff-silo: error: Icdiff:Silo:CheckpointItems must be 1..100000 (got 0).",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
    }
    [Fact]
    public async Task ThreeBadKeysOfOneSection_AreAllReported_ByTheCliAndTheSilo()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-settings-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);
        var environment = new Dictionary<string, string>
        {
            ["Icdiff__Silo__MaxShardsInFlight"] = "-1",
            ["Icdiff__Silo__CheckpointItems"] = "0",
            ["Icdiff__Silo__ShardAttempts"] = "0",
        };

        var cli = await CliProcess.RunAsync(Quick, environment, null, "audit", "--gallery", folder, "--generated", $"m={folder}", "--data-dir", Path.Combine(folder, "data"));
        var silo = await CliProcess.RunExecutableAsync(Quick, "icdiff-silo.dll", new Dictionary<string, string>(environment) { ["Icdiff__Cluster__Redis"] = "127.0.0.1:1" });

        string[] expected =
        [
            "Icdiff:Silo:CheckpointItems must be 1..100000 (got 0).",
            "Icdiff:Silo:MaxShardsInFlight must be 0..10000 (got -1).",
            "Icdiff:Silo:ShardAttempts must be 1..100 (got 0).",
        ];
        Assert.Equal(2, cli.ExitCode);
        Assert.Equal(expected.Select(e => "icdiff: error: " + e), Lines(cli.Stderr).Order(StringComparer.Ordinal));
        Assert.Equal(2, silo.ExitCode);
        Assert.Equal(expected.Select(e => "icdiff-silo: error: " + e), Lines(silo.Stderr).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Audit_WithABadIndexBackend_NamesEachKey_AndWithMilvusUnreachable_SaysSoInOneLine()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-settings-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "x.png"), [1]);
        var data = Path.Combine(folder, "data");
        string[] audit = ["audit", "--gallery", folder, "--generated", $"m={folder}", "--data-dir", data];

        var unknown = await CliProcess.RunAsync(Quick, new Dictionary<string, string> { ["Icdiff__Index__Kind"] = "faiss", ["Icdiff__Index__Partitions"] = "0" }, null, audit);
        var noUri = await CliProcess.RunAsync(Quick, new Dictionary<string, string> { ["Icdiff__Index__Kind"] = "milvus" }, null, audit);
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var unreachable = await CliProcess.RunAsync(Quick, new Dictionary<string, string> { ["Icdiff__Index__Kind"] = "milvus", ["Icdiff__Milvus__Uri"] = "http://127.0.0.1:1", ["Icdiff__Milvus__Token"] = "root:Milvus-Secret" }, null, audit);

        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal(
            ["icdiff: error: Icdiff:Index:Kind must be 'embedded', 'sharded' or 'milvus' (got 'faiss').", "icdiff: error: Icdiff:Index:Partitions must be 1..4096 (got 0)."],
            Lines(unknown.Stderr));
        Assert.Equal(2, noUri.ExitCode);
        Assert.Equal(["icdiff: error: Icdiff:Milvus:Uri must be an http(s) URI (got '')."], Lines(noUri.Stderr));
        Assert.Equal(2, unreachable.ExitCode);
        var line = Assert.Single(Lines(unreachable.Stderr));
        Assert.StartsWith("icdiff: error: Icdiff:Milvus:Uri: the Milvus server at http://127.0.0.1:1 does not answer (", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Milvus-Secret", unreachable.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(data, "runs")), "a run was started");
    }

    [Fact]
    public async Task Silo_WithMilvusUnreachable_StopsWithOneLine_AndMilvusSettingsWithoutTheBackendAreReportedAsUnused()
    {
        var unreachable = await CliProcess.RunExecutableAsync(Quick, "icdiff-silo.dll", new Dictionary<string, string>
        {
            ["Icdiff__Cluster__Redis"] = "127.0.0.1:1",
            ["Icdiff__Index__Kind"] = "milvus",
            ["Icdiff__Milvus__Uri"] = "http://127.0.0.1:1",
        });
        var unused = await CliProcess.RunExecutableAsync(Quick, "icdiff-silo.dll", new Dictionary<string, string>
        {
            ["Icdiff__Cluster__Redis"] = "127.0.0.1:1",
            ["Icdiff__Milvus__Uri"] = "http://127.0.0.1:1",
        }, "--check-config");

        Assert.Equal(3, unreachable.ExitCode);
        var line = Assert.Single(Lines(unreachable.Stderr));
        Assert.StartsWith("icdiff-silo: error: Icdiff:Milvus:Uri: the Milvus server at http://127.0.0.1:1 does not answer (", line, StringComparison.Ordinal);
        Assert.Equal(2, unused.ExitCode);
        Assert.Equal(["icdiff-silo: error: Icdiff:Milvus:Uri has no effect: Icdiff:Index:Kind is not 'milvus'."], Lines(unused.Stderr));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
