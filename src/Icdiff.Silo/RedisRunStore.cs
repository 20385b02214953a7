using System.Globalization;
using System.Text.Json;
using Icdiff.Grains;
using StackExchange.Redis;

namespace Icdiff.Silo;

/// <summary>
/// Runs stored in Redis, shared by every silo of a cluster: the run record under one key (written with a Lua check
/// of its epoch, so a stale activation cannot overwrite its successor), each model's shards as fields of one hash
/// (HSETNX by delivery id: a delivery stored twice keeps the first), and a set of run ids for listing.
/// </summary>
public sealed class RedisRunStore(IConnectionMultiplexer redis, string prefix) : IRunStore
{
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

    /// <summary>How long a store operation rides out a Redis that is restarting (disconnected, or loading its data).</summary>
    private static readonly TimeSpan OutageBudget = TimeSpan.FromSeconds(45);

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Runs a store operation, retrying through a Redis restart: connection failures, timeouts and LOADING replies are
    /// retried with doubling delays until <see cref="OutageBudget"/> is spent, so a short restart is only a pause.
    /// </summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> operation)
    {
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await operation();
            }
            catch (Exception ex) when (IsTransient(ex) && DateTime.UtcNow - started < OutageBudget)
            {
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    private static bool IsTransient(Exception ex) => ex is RedisConnectionException or RedisTimeoutException
        || (ex is RedisServerException && ex.Message.StartsWith("LOADING", StringComparison.Ordinal));

    public async Task<bool> SaveRunAsync(RunRecord record)
    {
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

    public Task<bool> SaveShardAsync(string aggregateKey, ShardResult result) =>
        RetryAsync(() => Db.HashSetAsync($"{prefix}:shards:{aggregateKey}", result.EffectiveDeliveryId, JsonSerializer.Serialize(result, Json), When.NotExists));

    public async Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey)
    {
        var entries = await RetryAsync(() => Db.HashGetAllAsync($"{prefix}:shards:{aggregateKey}"));
        return [.. entries.Select(e => JsonSerializer.Deserialize<ShardResult>(e.Value.ToString(), Json)!).OrderBy(s => s.RecordedAt)];
    }

    private string RunKey(string runId) => $"{prefix}:run:{runId}";
}
