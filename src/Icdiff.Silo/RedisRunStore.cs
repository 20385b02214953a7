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

    private IDatabase Db => redis.GetDatabase();

    public async Task<bool> SaveRunAsync(RunRecord record)
    {
        var result = await Db.ScriptEvaluateAsync(
            SaveIfNotStale,
            [RunKey(record.RunId), $"{prefix}:runs"],
            [JsonSerializer.Serialize(record, Json), record.Epoch.ToString(CultureInfo.InvariantCulture), record.RunId]);
        return (int)result == 1;
    }

    public async Task<RunRecord?> LoadRunAsync(string runId)
    {
        var value = await Db.StringGetAsync(RunKey(runId));
        return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<RunRecord>(value.ToString(), Json);
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync()
    {
        var runs = new List<RunRecord>();
        foreach (var id in await Db.SetMembersAsync($"{prefix}:runs"))
        {
            if (await LoadRunAsync(id.ToString()) is { } run)
            {
                runs.Add(run);
            }
        }

        return [.. runs.OrderBy(r => r.StartedAt)];
    }

    public Task<bool> SaveShardAsync(string aggregateKey, ShardResult result) =>
        Db.HashSetAsync($"{prefix}:shards:{aggregateKey}", result.EffectiveDeliveryId, JsonSerializer.Serialize(result, Json), When.NotExists);

    public async Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey)
    {
        var entries = await Db.HashGetAllAsync($"{prefix}:shards:{aggregateKey}");
        return [.. entries.Select(e => JsonSerializer.Deserialize<ShardResult>(e.Value.ToString(), Json)!).OrderBy(s => s.RecordedAt)];
    }

    private string RunKey(string runId) => $"{prefix}:run:{runId}";
}
