using Icdiff.History.Sql;
using Icdiff.Tests.Shared;

namespace Icdiff.History.Tests;

/// <summary>What every history store must do, run against SQLite and PostgreSQL alike.</summary>
public abstract class RunHistoryStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 2, 0, 0, TimeSpan.Zero);

    protected SqlRunHistoryStore? Store { get; set; }

    protected abstract Task<(SqlRunHistoryStore? Store, string? SkipReason)> CreateAsync();

    protected abstract Task DropAsync();

    private string? _skip;

    public async ValueTask InitializeAsync() => (Store, _skip) = await CreateAsync();

    public async ValueTask DisposeAsync()
    {
        await DropAsync();
        GC.SuppressFinalize(this);
    }

    private SqlRunHistoryStore Ready()
    {
        Assert.SkipWhen(Store is null, _skip ?? "no store");
        return Store!;
    }

    [Fact]
    public async Task Migrations_apply_in_order_once_and_a_newer_schema_is_refused()
    {
        var store = Ready();
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        Assert.Equal([1, 2, 3, 4, 5], await store.AppliedVersionsAsync(TestContext.Current.CancellationToken));

        // Several processes starting at once: each waits for the migration lock, none applies a step twice.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.MigrateAsync(TestContext.Current.CancellationToken)));
        Assert.Equal([1, 2, 3, 4, 5], await store.AppliedVersionsAsync(TestContext.Current.CancellationToken));

        await ExecuteAsync("INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'from the future', " + (this is SqliteRunHistoryStoreTests ? "'2030-01-01T00:00:00.0000000Z'" : "now()") + ")");
        var refused = await Assert.ThrowsAsync<HistoryStoreException>(() => store.MigrateAsync(TestContext.Current.CancellationToken));
        Assert.Contains("schema version 99", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_is_recorded_from_start_through_progress_to_its_end()
    {
        var store = Ready();
        var ct = TestContext.Current.CancellationToken;
        await store.MigrateAsync(ct);
        var run = Run("run-1", "nightly", T0, HistoryRunStates.Running, HistoryModel.Pending("model-a", "/corpora/a"), HistoryModel.Pending("model-b", "/corpora/b"));
        await store.RecordStartAsync(run, ct);
        await store.RecordProgressAsync("run-1", HistoryRunStates.Running, [new HistoryProgress("model-a", 40, 25, false), new HistoryProgress("model-b", 10, 10, true)], ct);

        var running = (await store.GetRunAsync("run-1", ct))!;
        Assert.True(running.IsRunning);
        Assert.Equal((40, 25, false), (running.Models[0].Listed, running.Models[0].Done, running.Models[0].ListingComplete));
        Assert.Equal((10, 10, true), (running.Models[1].Listed, running.Models[1].Done, running.Models[1].ListingComplete));

        var modelA = Figures("model-a", "/corpora/a", scanned: 3, replicas: 1, [1, 0, 0, 1, 0, 1]) with { Skipped = 1, SkipsByReason = new Dictionary<string, int> { ["Truncated"] = 1 }, Alert = "ratio 33.3% is above the limit 20.0%" };
        var finished = run with { State = HistoryRunStates.Completed, FinishedAt = T0.AddMinutes(5), GalleryIndexed = 100, Flagged = true, GalleryIndex = "sharded, 8 partitions", Models = [modelA, Figures("model-b", "/corpora/b", 2, 0, [2, 0, 0, 0, 0, 0])] };
        HistoryImage[] images =
        [
            new("model-a", "a1.png", "g1.png", 5, 0.99, "1234-638000000000000000", "999-637000000000000000"),
            new("model-a", "a2.png", "g2.png", 3, 0.8),
            new("model-a", "a3.png", null, 0, 0.1),
            new("model-b", "b1.png", "g3.png", 0, 0.2),
            new("model-b", "b 2,\"quoted\".png", "g4.png", 0, 0.3),
        ];
        await store.RecordFinishAsync(finished, images, [new HistorySkip("model-a", "bad.png", "Truncated", "ends early")], ct);
        // Recording the end twice (a resumed run finishing again) replaces, never duplicates.
        await store.RecordFinishAsync(finished, images, [new HistorySkip("model-a", "bad.png", "Truncated", "ends early")], ct);

        var stored = (await store.GetRunAsync("run-1", ct))!;
        Assert.Equal(HistoryRunStates.Completed, stored.State);
        Assert.Equal(T0, stored.StartedAt);
        Assert.Equal(T0.AddMinutes(5), stored.FinishedAt);
        Assert.True(stored.Flagged);
        Assert.Null(running.GalleryIndex);
        Assert.Equal("sharded, 8 partitions", stored.GalleryIndex);
        Assert.Equal("nightly", stored.Schedule);
        Assert.Equal(modelA.Alert, stored.Models[0].Alert);
        Assert.Equal([1, 0, 0, 1, 0, 1], stored.Models[0].Levels);
        Assert.Equal(1, stored.Models[0].SkipsByReason["Truncated"]);
        Assert.Equal(modelA.Ratio, stored.Models[0].Ratio, 12);

        var all = await store.GetImagesAsync(new ImageQuery("run-1"), ct);
        Assert.Equal(5, all.Total);
        Assert.Equal(["a1.png", "a2.png"], all.Items.Take(2).Select(i => i.Key));
        var levelThree = await store.GetImagesAsync(new ImageQuery("run-1", "model-a", 3), ct);
        Assert.Equal("a2.png", Assert.Single(levelThree.Items).Key);
        var paged = await store.GetImagesAsync(new ImageQuery("run-1", "model-b", Skip: 1, Take: 1), ct);
        Assert.Equal((2, 1), (paged.Total, paged.Items.Count));
        var skips = await store.GetSkipsAsync("run-1", 0, 10, ct);
        Assert.Equal(("bad.png", "Truncated", "ends early"), (skips.Items[0].Key, skips.Items[0].Reason, skips.Items[0].Detail));
        Assert.Equal(1, skips.Total);

        // The stamps the run read are kept: the dashboard serves an image only while its stamp is unchanged.
        Assert.Equal(("1234-638000000000000000", "999-637000000000000000"), (all.Items[0].Stamp, all.Items[0].GalleryStamp));
        Assert.Equal(new RecordedItem("a1.png", "1234-638000000000000000"), await store.FindRecordedAsync("run-1", "model-a", "a1.png", ct));
        Assert.Equal(new RecordedItem("g1.png", "999-637000000000000000"), await store.FindRecordedAsync("run-1", null, "g1.png", ct));
        Assert.Equal(new RecordedItem("a2.png", null), await store.FindRecordedAsync("run-1", "model-a", "a2.png", ct));
        Assert.Null(await store.FindRecordedAsync("run-1", "model-b", "a1.png", ct));
        Assert.Null(await store.FindRecordedAsync("run-1", null, "a1.png", ct));
        Assert.Null(await store.FindRecordedAsync("run-2", "model-a", "a1.png", ct));

        Assert.Equal(["a1.png", "a2.png", "a3.png", "bad.png"], (await store.GetProcessedKeysAsync("nightly", "model-a", ct)).Order(StringComparer.Ordinal));
        Assert.Empty(await store.GetProcessedKeysAsync("other-schedule", "model-a", ct));
    }

    [Fact]
    public async Task Previous_runs_are_found_by_schedule_or_by_model_and_listed_newest_first()
    {
        var store = Ready();
        var ct = TestContext.Current.CancellationToken;
        await store.MigrateAsync(ct);
        await store.RecordFinishAsync(Run("n-1", "nightly", T0, HistoryRunStates.Completed, Figures("m", "/m", 10, 1, [9, 0, 0, 0, 1, 0])), [], [], ct);
        await store.RecordFinishAsync(Run("adhoc", null, T0.AddHours(1), HistoryRunStates.Completed, Figures("m", "/m", 10, 5, [5, 0, 0, 0, 5, 0])), [], [], ct);
        await store.RecordFinishAsync(Run("n-failed", "nightly", T0.AddHours(2), HistoryRunStates.Failed, Figures("m", "/m", 0, 0, [0, 0, 0, 0, 0, 0])), [], [], ct);
        await store.RecordStartAsync(Run("n-2", "nightly", T0.AddDays(1), HistoryRunStates.Running, HistoryModel.Pending("m", "/m")), ct);

        Assert.Equal("n-1", (await store.FindPreviousAsync("nightly", "m", T0.AddDays(1), ct))!.RunId);
        Assert.Equal("adhoc", (await store.FindPreviousAsync(null, "m", T0.AddDays(1), ct))!.RunId);
        Assert.Null(await store.FindPreviousAsync("nightly", "m", T0, ct));
        Assert.Equal("n-2", (await store.GetLatestOfScheduleAsync("nightly", ct))!.RunId);
        Assert.Equal(["n-2", "n-failed", "adhoc", "n-1"], (await store.ListRunsAsync(10, ct)).Select(r => r.RunId));
        Assert.Equal(2, (await store.ListRunsAsync(2, ct)).Count);
    }

    [Fact]
    public async Task Export_writes_every_image_and_skip_as_csv_and_json()
    {
        var store = Ready();
        var ct = TestContext.Current.CancellationToken;
        await store.MigrateAsync(ct);
        await store.RecordFinishAsync(
            Run("exp", null, T0, HistoryRunStates.Completed, Figures("m", "/m", 2, 1, [1, 0, 0, 0, 0, 1])),
            [new("m", "=HYPERLINK(\"x\").png", "g1.png", 5, 1.0), new("m", "plain, with comma.png", null, 0, 0.25)],
            [new HistorySkip("m", "broken.png", "NotAnImage", null)],
            ct);
        using var csv = new MemoryStream();
        Assert.True(await RunExporter.WriteAsync(store, "exp", "csv", csv, ct));
        var lines = System.Text.Encoding.UTF8.GetString(csv.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains("\"'=HYPERLINK(\"\"x\"\").png\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"plain, with comma.png\",scored,0,0.25", lines[2], StringComparison.Ordinal);
        Assert.Contains("broken.png,skipped,,,,NotAnImage", lines[3], StringComparison.Ordinal);

        using var json = new MemoryStream();
        Assert.True(await RunExporter.WriteAsync(store, "exp", "json", json, ct));
        using var document = System.Text.Json.JsonDocument.Parse(json.ToArray());
        Assert.Equal("exp", document.RootElement.GetProperty("run").GetProperty("runId").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("images").GetArrayLength());
        Assert.Equal(1, document.RootElement.GetProperty("skips").GetArrayLength());
        Assert.False(await RunExporter.WriteAsync(store, "missing", "csv", new MemoryStream(), ct));
    }

    protected abstract Task ExecuteAsync(string sql);

    private static HistoryRun Run(string id, string? schedule, DateTimeOffset started, string state, params HistoryModel[] models) =>
        new(id, schedule, state, started, state == HistoryRunStates.Running ? null : started.AddMinutes(3), "/gallery", 0, 0, "model-x", "rule", "criterion", 4, "{\"name\":\"x\"}", state == HistoryRunStates.Failed ? "boom" : null, false, models);

    private static HistoryModel Figures(string model, string location, int scanned, int replicas, int[] levels)
    {
        var interval = Core.WilsonInterval.Compute(replicas, scanned);
        return new HistoryModel(model, location, scanned, scanned, true, scanned, replicas, 0, scanned == 0 ? 0 : (double)replicas / scanned, interval.Lower, interval.Upper, levels, new Dictionary<string, int>(), scanned, replicas, null);
    }
}

public sealed class SqliteRunHistoryStoreTests : RunHistoryStoreContract
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"icdiff-history-{Guid.NewGuid():N}");

    protected override Task<(SqlRunHistoryStore? Store, string? SkipReason)> CreateAsync() =>
        Task.FromResult<(SqlRunHistoryStore?, string?)>((new SqliteRunHistoryStore(Path.Combine(_folder, "history.db")), null));

    protected override Task DropAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_folder, "history.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class PostgresRunHistoryStoreTests : RunHistoryStoreContract
{
    private TestPostgres? _database;

    protected override async Task<(SqlRunHistoryStore? Store, string? SkipReason)> CreateAsync()
    {
        _database = await TestPostgres.CreateAsync();
        return _database is null ? (null, TestPostgres.SkipReason) : (new PostgresRunHistoryStore(_database.ConnectionString), null);
    }

    protected override async Task DropAsync()
    {
        if (Store is PostgresRunHistoryStore store)
        {
            await store.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task ExecuteAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_database!.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
