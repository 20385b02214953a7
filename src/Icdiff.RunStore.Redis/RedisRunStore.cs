using System.Globalization;
using System.Text.Json;
using Icdiff.Grains;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Icdiff.RunStore.Redis;

/// <summary>
/// Runs stored in Redis, shared by every silo of a cluster: the run record under one key (written with a Lua check
/// of its epoch, so a stale activation cannot overwrite its successor), each model's shards as fields of one hash
/// (HSETNX by delivery id: a delivery stored twice keeps the first), and a set of run ids for listing. A marker key
/// written with the first write tells a Redis restarted without its data from one that never had any: every write
/// checks it in the same script, and a missing marker after this store saw it raises <see cref="Generation"/>, so the
/// grains that hold state in memory write it again (see <see cref="IRunStore.Generation"/>).
/// </summary>
public sealed partial class RedisRunStore(IConnectionMultiplexer redis, string prefix, ILogger<RedisRunStore> logger) : IRunStore
{
    /// <summary>Sets the marker to a fresh value if absent; returns the marker's value.</summary>
    private const string MarkerCheck = """
        redis.call('SET', KEYS[1], ARGV[1], 'NX')
        return redis.call('GET', KEYS[1])
        """;

    /// <summary>Stores the delivery (HSETNX) and returns { stored (0/1), the marker's value } with the marker set if absent.</summary>
    private const string SaveShardChecked = """
        redis.call('SET', KEYS[2], ARGV[3], 'NX')
        local stored = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
        return { stored, redis.call('GET', KEYS[2]) }
        """;

    private readonly Lock _markerLock = new();
    private string? _lastMarker;
    private long _generation;

    public long Generation => Interlocked.Read(ref _generation);

    private const string SaveIfNotStale = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local stored = cjson.decode(current)
          if stored['Epoch'] and tonumber(stored['Epoch']) > tonumber(ARGV[2]) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('SADD', KEYS[2], ARGV[3])
        return 1
        """;

    private static readonly JsonSerializerOptions Json = new();

    /// <summary>
    /// A store operation rides out a Redis that is restarting (disconnected, or loading its data) for 45 s: connection
    /// failures, timeouts and LOADING replies are retried with delays doubling from 100 ms to 2 s.
    /// </summary>
    private static readonly BudgetedRetry Outage = new(TimeSpan.FromSeconds(45), IsTransient, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), exponential: true);

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Runs a store operation through <see cref="Outage"/>, so a short Redis restart is only a pause.</summary>
    private static Task<T> RetryAsync<T>(Func<Task<T>> operation) => Outage.RunAsync(operation);

    private static bool IsTransient(Exception ex) => ex is RedisConnectionException or RedisTimeoutException
        || (ex is RedisServerException && ex.Message.StartsWith("LOADING", StringComparison.Ordinal))
        // A connection being torn down as Redis goes away: the multiplexer reconnects, so the operation is retried.
        || (ex is InvalidOperationException && ex.Message.Contains("Writing is not allowed after writer was completed", StringComparison.Ordinal));

    public async Task<bool> SaveRunAsync(RunRecord record)
    {
        await CheckMarkerAsync();
        var result = await RetryAsync(() => Db.ScriptEvaluateAsync(
            SaveIfNotStale,
            [RunKey(record.RunId), $"{prefix}:runs"],
            [JsonSerializer.Serialize(record, Json), record.Epoch.ToString(CultureInfo.InvariantCulture), record.RunId]));
        return (int)result == 1;
    }

    public async Task<RunRecord?> LoadRunAsync(string runId)
    {
        var value = await RetryAsync(() => Db.StringGetAsync(RunKey(runId)));
        return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<RunRecord>(value.ToString(), Json);
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync()
    {
        var runs = new List<RunRecord>();
        foreach (var id in await RetryAsync(() => Db.SetMembersAsync($"{prefix}:runs")))
        {
            if (await LoadRunAsync(id.ToString()) is { } run)
            {
                runs.Add(run);
            }
        }

        return [.. runs.OrderBy(r => r.StartedAt)];
    }

    public async Task<bool> SaveShardAsync(string aggregateKey, ShardResult result)
    {
        var outcome = (RedisResult[])(await RetryAsync(() => Db.ScriptEvaluateAsync(
            SaveShardChecked,
            [$"{prefix}:shards:{aggregateKey}", MarkerKey],
            [result.EffectiveDeliveryId, JsonSerializer.Serialize(result, Json), NewMarker()])))!;
        NoteMarker(outcome[1].ToString());
        return (int)outcome[0] == 1;
    }

    /// <summary>Looks for the marker (writing it if absent), so a wipe is noticed between writes too; the silo's membership guard calls it.</summary>
    public async Task CheckMarkerAsync()
    {
        var marker = (await RetryAsync(() => Db.ScriptEvaluateAsync(MarkerCheck, [MarkerKey], [NewMarker()]))).ToString();
        NoteMarker(marker);
    }

    /// <summary>A fresh value each time: whoever re-creates a lost marker (any silo) writes a value no store saw before.</summary>
    private static string NewMarker() => Guid.NewGuid().ToString("N");

    private string MarkerKey => $"{prefix}:store";

    /// <summary>
    /// The first look only learns the marker; after that a different value means the data was lost and the marker
    /// re-created (by this store or another silo's: each silo must notice, whoever re-created it).
    /// </summary>
    private void NoteMarker(string? marker)
    {
        bool lost;
        lock (_markerLock)
        {
            lost = _lastMarker is not null && marker != _lastMarker;
            _lastMarker = marker;
        }

        if (lost)
        {
            Interlocked.Increment(ref _generation);
            Log.StoreLost(logger, prefix);
        }
    }

    public async Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey)
    {
        var entries = await RetryAsync(() => Db.HashGetAllAsync($"{prefix}:shards:{aggregateKey}"));
        return [.. entries.Select(e => JsonSerializer.Deserialize<ShardResult>(e.Value.ToString(), Json)!).OrderBy(s => s.RecordedAt)];
    }

    private string RunKey(string runId) => $"{prefix}:run:{runId}";

    /// <summary>In the silo host's range (6000-6099: membership and run store), where it was logged before it moved here.</summary>
    private const int RunStoreLostEventId = 6000;

    private static partial class Log
    {
        [LoggerMessage(EventId = RunStoreLostEventId, Level = LogLevel.Error, Message = "The run store in Redis ({Prefix}) lost its data (Redis restarted without it?): runs in progress write their state again; runs that had ended are kept only in the history")]
        public static partial void StoreLost(ILogger logger, string prefix);
    }
}
