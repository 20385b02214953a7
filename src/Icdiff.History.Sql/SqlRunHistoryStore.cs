using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Icdiff.History.Sql;

/// <summary>
/// The history on an ADO.NET database: the same statements on SQLite and PostgreSQL, with <see cref="SqlDialect"/>
/// covering types, timestamps and the migration lock. Each call opens a pooled connection of its own, so one store
/// serves concurrent grains and web requests.
/// </summary>
public abstract class SqlRunHistoryStore : IRunHistoryStore
{
    private const string RunColumns = "run_id, schedule, state, started_at, finished_at, gallery, gallery_indexed, gallery_skipped, model_name, scoring_rule, criterion, min_level, model_manifest, error, flagged, gallery_index";
    private const string ModelColumns = "run_id, model, location, listed, done, listing_complete, scanned, replicas, skipped, ratio, lower_bound, upper_bound, levels, skips_by_reason, cumulative_scanned, cumulative_replicas, alert, alt_replicas";

    private readonly SqlDialect _dialect;

    private protected SqlRunHistoryStore(SqlDialect dialect)
    {
        _dialect = dialect;
    }

    public abstract string Description { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (_dialect.MigrationLock is { } lockStatement)
        {
            await ExecuteAsync(connection, transaction, lockStatement, cancellationToken);
        }

        await ExecuteAsync(connection, transaction, $"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {_dialect.Timestamp} NOT NULL)", cancellationToken);
        var applied = new HashSet<int>();
        await using (var command = Command(connection, transaction, "SELECT version FROM schema_migrations"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        if (applied.Count > 0 && applied.Max() > HistoryMigrations.Latest)
        {
            throw new HistoryStoreException($"the history store {Description} is at schema version {applied.Max()}, newer than this build knows ({HistoryMigrations.Latest}): run a newer icdiff against it, or point it at another store.");
        }

        foreach (var migration in HistoryMigrations.All.Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, transaction, migration.Script(_dialect), cancellationToken);
            await using var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (@version, @description, @at)");
            Add(record, "version", migration.Version);
            Add(record, "description", migration.Description);
            Add(record, "at", _dialect.ToDb(DateTimeOffset.UtcNow));
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The schema versions applied to the store, in order.</summary>
    public async Task<IReadOnlyList<int>> AppliedVersionsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT version FROM schema_migrations ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<int>();
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    public async Task RecordStartAsync(HistoryRun run, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await UpsertRunAsync(connection, transaction, run, cancellationToken);
        await DeleteAsync(connection, transaction, "run_models", run.RunId, cancellationToken);
        foreach (var model in run.Models)
        {
            await InsertModelAsync(connection, transaction, run.RunId, model, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task RecordProgressAsync(string runId, string state, IReadOnlyList<HistoryProgress> models, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = Command(connection, transaction, "UPDATE runs SET state = @state WHERE run_id = @run"))
        {
            Add(command, "state", state);
            Add(command, "run", runId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var command = Command(connection, transaction, "UPDATE run_models SET listed = @listed, done = @done, listing_complete = @complete WHERE run_id = @run AND model = @model"))
        {
            var listed = Add(command, "listed", 0);
            var done = Add(command, "done", 0);
            var complete = Add(command, "complete", 0);
            Add(command, "run", runId);
            var model = Add(command, "model", "");
            foreach (var progress in models)
            {
                listed.Value = progress.Listed;
                done.Value = progress.Done;
                complete.Value = progress.ListingComplete ? 1 : 0;
                model.Value = progress.Model;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task RecordFinishAsync(HistoryRun run, IReadOnlyList<HistoryImage> images, IReadOnlyList<HistorySkip> skips, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await UpsertRunAsync(connection, transaction, run, cancellationToken);
        foreach (var table in (string[])["run_models", "run_images", "run_skips"])
        {
            await DeleteAsync(connection, transaction, table, run.RunId, cancellationToken);
        }

        foreach (var model in run.Models)
        {
            await InsertModelAsync(connection, transaction, run.RunId, model, cancellationToken);
        }

        await using (var command = Command(connection, transaction, "INSERT INTO run_images (run_id, model, item_key, gallery_key, level, score, item_stamp, gallery_stamp) VALUES (@run, @model, @key, @gallery, @level, @score, @stamp, @galleryStamp)"))
        {
            Add(command, "run", run.RunId);
            var model = Add(command, "model", "");
            var key = Add(command, "key", "");
            var gallery = Add(command, "gallery", DBNull.Value);
            var level = Add(command, "level", 0);
            var score = Add(command, "score", 0.0);
            var stamp = Add(command, "stamp", DBNull.Value);
            var galleryStamp = Add(command, "galleryStamp", DBNull.Value);
            await command.PrepareAsync(cancellationToken);
            foreach (var image in images)
            {
                stamp.Value = (object?)image.Stamp ?? DBNull.Value;
                galleryStamp.Value = (object?)image.GalleryStamp ?? DBNull.Value;
                model.Value = image.Model;
                key.Value = image.Key;
                gallery.Value = (object?)image.GalleryKey ?? DBNull.Value;
                level.Value = image.Level;
                score.Value = image.Score;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var command = Command(connection, transaction, "INSERT INTO run_skips (run_id, model, item_key, reason, detail) VALUES (@run, @model, @key, @reason, @detail)"))
        {
            Add(command, "run", run.RunId);
            var model = Add(command, "model", "");
            var key = Add(command, "key", "");
            var reason = Add(command, "reason", "");
            var detail = Add(command, "detail", DBNull.Value);
            await command.PrepareAsync(cancellationToken);
            foreach (var skip in skips)
            {
                model.Value = skip.Model;
                key.Value = skip.Key;
                reason.Value = skip.Reason;
                detail.Value = (object?)skip.Detail ?? DBNull.Value;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<HistoryRun>> ListRunsAsync(int limit = 500, CancellationToken cancellationToken = default) =>
        await QueryRunsAsync($"SELECT {RunColumns} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT @limit", c => Add(c, "limit", limit), cancellationToken);

    public async Task<HistoryRun?> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        (await QueryRunsAsync($"SELECT {RunColumns} FROM runs WHERE run_id = @run", c => Add(c, "run", runId), cancellationToken)).SingleOrDefault();

    public async Task<HistoryRun?> FindPreviousAsync(string? schedule, string model, DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        var sql = schedule is null
            ? $"SELECT {RunColumns} FROM runs r WHERE state = @state AND started_at < @before AND EXISTS (SELECT 1 FROM run_models m WHERE m.run_id = r.run_id AND m.model = @model) ORDER BY started_at DESC LIMIT 1"
            : $"SELECT {RunColumns} FROM runs WHERE state = @state AND started_at < @before AND schedule = @schedule ORDER BY started_at DESC LIMIT 1";
        var runs = await QueryRunsAsync(sql, c =>
        {
            Add(c, "state", HistoryRunStates.Completed);
            Add(c, "before", _dialect.ToDb(before));
            Add(c, "model", model);
            Add(c, "schedule", (object?)schedule ?? DBNull.Value);
        }, cancellationToken);
        return runs.SingleOrDefault();
    }

    public async Task<HistoryRun?> GetLatestOfScheduleAsync(string schedule, CancellationToken cancellationToken = default) =>
        (await QueryRunsAsync($"SELECT {RunColumns} FROM runs WHERE schedule = @schedule ORDER BY started_at DESC LIMIT 1", c => Add(c, "schedule", schedule), cancellationToken)).SingleOrDefault();

    public async Task<HistoryPage<HistoryImage>> GetImagesAsync(ImageQuery query, CancellationToken cancellationToken = default)
    {
        var filter = "run_id = @run" + (query.Model is null ? "" : " AND model = @model") + (query.Level is null ? "" : " AND level = @level");
        void Bind(DbCommand c)
        {
            Add(c, "run", query.RunId);
            Add(c, "model", (object?)query.Model ?? DBNull.Value);
            Add(c, "level", (object?)query.Level ?? DBNull.Value);
            Add(c, "skip", Math.Max(0, query.Skip));
            Add(c, "take", Math.Clamp(query.Take, 0, 100_000));
        }

        await using var connection = await OpenAsync(cancellationToken);
        var total = await ScalarIntAsync(connection, $"SELECT COUNT(*) FROM run_images WHERE {filter}", Bind, cancellationToken);
        await using var command = Command(connection, null, $"SELECT model, item_key, gallery_key, level, score, item_stamp, gallery_stamp FROM run_images WHERE {filter} ORDER BY level DESC, score DESC, model, item_key LIMIT @take OFFSET @skip");
        Bind(command);
        var items = new List<HistoryImage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new HistoryImage(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3), reader.GetDouble(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return new HistoryPage<HistoryImage>(items, total);
    }

    public async Task<RecordedItem?> FindRecordedAsync(string runId, string? model, string key, CancellationToken cancellationToken = default)
    {
        var sql = model is null
            ? "SELECT gallery_stamp FROM run_images WHERE run_id = @run AND gallery_key = @key LIMIT 1"
            : "SELECT item_stamp FROM run_images WHERE run_id = @run AND model = @model AND item_key = @key";
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql);
        Add(command, "run", runId);
        Add(command, "model", (object?)model ?? DBNull.Value);
        Add(command, "key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new RecordedItem(key, reader.IsDBNull(0) ? null : reader.GetString(0)) : null;
    }

    public async Task<HistoryPage<HistorySkip>> GetSkipsAsync(string runId, int skip, int take, CancellationToken cancellationToken = default)
    {
        void Bind(DbCommand c)
        {
            Add(c, "run", runId);
            Add(c, "skip", Math.Max(0, skip));
            Add(c, "take", Math.Clamp(take, 0, 100_000));
        }

        await using var connection = await OpenAsync(cancellationToken);
        var total = await ScalarIntAsync(connection, "SELECT COUNT(*) FROM run_skips WHERE run_id = @run", Bind, cancellationToken);
        await using var command = Command(connection, null, "SELECT model, item_key, reason, detail FROM run_skips WHERE run_id = @run ORDER BY model, item_key LIMIT @take OFFSET @skip");
        Bind(command);
        var items = new List<HistorySkip>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new HistorySkip(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return new HistoryPage<HistorySkip>(items, total);
    }

    public async Task<IReadOnlyList<string>> GetProcessedKeysAsync(string schedule, string model, CancellationToken cancellationToken = default)
    {
        const string Sql = """
            SELECT i.item_key FROM run_images i JOIN runs r ON r.run_id = i.run_id WHERE r.schedule = @schedule AND r.state = @state AND i.model = @model
            UNION
            SELECT s.item_key FROM run_skips s JOIN runs r ON r.run_id = s.run_id WHERE r.schedule = @schedule AND r.state = @state AND s.model = @model
            """;
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, Sql);
        Add(command, "schedule", schedule);
        Add(command, "state", HistoryRunStates.Completed);
        Add(command, "model", model);
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    private async Task<IReadOnlyList<HistoryRun>> QueryRunsAsync(string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var runs = new List<HistoryRun>();
        await using (var command = Command(connection, null, sql))
        {
            bind(command);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                runs.Add(new HistoryRun(
                    reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.GetString(2),
                    _dialect.ReadTimestamp(reader, 3),
                    reader.IsDBNull(4) ? null : _dialect.ReadTimestamp(reader, 4),
                    reader.GetString(5),
                    reader.GetInt32(6),
                    reader.GetInt32(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9),
                    reader.GetString(10),
                    reader.GetInt32(11),
                    reader.GetString(12),
                    reader.IsDBNull(13) ? null : reader.GetString(13),
                    reader.GetInt32(14) != 0,
                    [],
                    reader.IsDBNull(15) ? null : reader.GetString(15)));
            }
        }

        if (runs.Count == 0)
        {
            return runs;
        }

        // The models of all runs read at once: one query, not one per run.
        var models = new Dictionary<string, List<HistoryModel>>(StringComparer.Ordinal);
        var names = string.Join(", ", runs.Select((_, i) => $"@r{i}"));
        await using (var command = Command(connection, null, $"SELECT {ModelColumns} FROM run_models WHERE run_id IN ({names}) ORDER BY run_id, model"))
        {
            for (var i = 0; i < runs.Count; i++)
            {
                Add(command, $"r{i}", runs[i].RunId);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var runId = reader.GetString(0);
                if (!models.TryGetValue(runId, out var list))
                {
                    models[runId] = list = [];
                }

                list.Add(new HistoryModel(
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetInt32(3),
                    reader.GetInt32(4),
                    reader.GetInt32(5) != 0,
                    reader.GetInt32(6),
                    reader.GetInt32(7),
                    reader.GetInt32(8),
                    reader.GetDouble(9),
                    reader.GetDouble(10),
                    reader.GetDouble(11),
                    [.. reader.GetString(12).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))],
                    JsonSerializer.Deserialize<Dictionary<string, int>>(reader.GetString(13)) ?? [],
                    reader.GetInt32(14),
                    reader.GetInt32(15),
                    reader.IsDBNull(16) ? null : reader.GetString(16),
                    reader.IsDBNull(17) ? null : reader.GetInt32(17)));
            }
        }

        return [.. runs.Select(r => r with { Models = models.GetValueOrDefault(r.RunId) ?? [] })];
    }

    private async Task UpsertRunAsync(DbConnection connection, DbTransaction transaction, HistoryRun run, CancellationToken cancellationToken)
    {
        var sql = $"""
            INSERT INTO runs ({RunColumns}) VALUES (@run, @schedule, @state, @started, @finished, @gallery, @indexed, @gskipped, @modelName, @scoring, @criterion, @minLevel, @manifest, @error, @flagged, @galleryIndex)
            ON CONFLICT (run_id) DO UPDATE SET schedule = excluded.schedule, state = excluded.state, started_at = excluded.started_at, finished_at = excluded.finished_at,
                gallery = excluded.gallery, gallery_indexed = excluded.gallery_indexed, gallery_skipped = excluded.gallery_skipped, model_name = excluded.model_name,
                scoring_rule = excluded.scoring_rule, criterion = excluded.criterion, min_level = excluded.min_level, model_manifest = excluded.model_manifest,
                error = excluded.error, flagged = excluded.flagged, gallery_index = excluded.gallery_index
            """;
        await using var command = Command(connection, transaction, sql);
        Add(command, "run", run.RunId);
        Add(command, "schedule", (object?)run.Schedule ?? DBNull.Value);
        Add(command, "state", run.State);
        Add(command, "started", _dialect.ToDb(run.StartedAt));
        Add(command, "finished", run.FinishedAt is { } f ? _dialect.ToDb(f) : DBNull.Value);
        Add(command, "gallery", run.Gallery);
        Add(command, "indexed", run.GalleryIndexed);
        Add(command, "gskipped", run.GallerySkipped);
        Add(command, "modelName", (object?)run.ModelName ?? DBNull.Value);
        Add(command, "scoring", (object?)run.ScoringRule ?? DBNull.Value);
        Add(command, "criterion", run.Criterion);
        Add(command, "minLevel", run.MinLevel);
        Add(command, "manifest", run.ModelManifest);
        Add(command, "error", (object?)run.Error ?? DBNull.Value);
        Add(command, "flagged", run.Flagged ? 1 : 0);
        Add(command, "galleryIndex", (object?)run.GalleryIndex ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task InsertModelAsync(DbConnection connection, DbTransaction transaction, string runId, HistoryModel model, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"INSERT INTO run_models ({ModelColumns}) VALUES (@run, @model, @location, @listed, @done, @complete, @scanned, @replicas, @skipped, @ratio, @lower, @upper, @levels, @reasons, @cscanned, @creplicas, @alert, @altReplicas)");
        Add(command, "run", runId);
        Add(command, "model", model.Model);
        Add(command, "location", model.Location);
        Add(command, "listed", model.Listed);
        Add(command, "done", model.Done);
        Add(command, "complete", model.ListingComplete ? 1 : 0);
        Add(command, "scanned", model.Scanned);
        Add(command, "replicas", model.Replicas);
        Add(command, "skipped", model.Skipped);
        Add(command, "ratio", model.Ratio);
        Add(command, "lower", model.Lower);
        Add(command, "upper", model.Upper);
        Add(command, "levels", string.Join(',', model.Levels.Select(l => l.ToString(CultureInfo.InvariantCulture))));
        Add(command, "reasons", JsonSerializer.Serialize(model.SkipsByReason));
        Add(command, "cscanned", model.CumulativeScanned);
        Add(command, "creplicas", model.CumulativeReplicas);
        Add(command, "alert", (object?)model.Alert ?? DBNull.Value);
        Add(command, "altReplicas", (object?)model.AltReplicas ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task DeleteAsync(DbConnection connection, DbTransaction transaction, string table, string runId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"DELETE FROM {table} WHERE run_id = @run");
        Add(command, "run", runId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<int> ScalarIntAsync(DbConnection connection, string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, sql);
        bind(command);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

#pragma warning disable CA2100 // statements are this class's constants; every value is a parameter
    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
#pragma warning restore CA2100

    private static DbParameter Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
