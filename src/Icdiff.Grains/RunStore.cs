using System.Text.Json;

namespace Icdiff.Grains;

/// <summary>
/// What a run must remember across restarts: its request, where it got to, and when. <see cref="Epoch"/> grows with
/// every activation that takes the run over, so a stale activation (a silo cut off but not yet dead) cannot
/// overwrite the record of its successor.
/// </summary>
/// <see cref="RetryFailed"/> marks a run asked to re-run its skipped items, so a retry that is itself interrupted
/// carries on retrying.
public sealed record RunRecord(string RunId, AuditRequest Request, RunState State, string? Error, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, int Epoch = 1, bool RetryFailed = false);

/// <summary>
/// Durable state of runs: the run record, rewritten on every state change, and each model's deliveries (the outcomes
/// of a few items of a shard: a checkpoint), written once per delivery id. A resumed run redoes only items with no
/// stored outcome, and a delivery stored twice is one delivery.
/// </summary>
public interface IRunStore
{
    /// <summary>Stores the record unless the stored one has a later epoch; returns whether it was stored.</summary>
    Task<bool> SaveRunAsync(RunRecord record);

    Task<RunRecord?> LoadRunAsync(string runId);

    Task<IReadOnlyList<RunRecord>> ListRunsAsync();

    /// <summary>Stores a delivery under its delivery id; a second store of the same id keeps the first.</summary>
    Task<bool> SaveShardAsync(string aggregateKey, ShardResult result);

    Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey);

    /// <summary>
    /// Grows each time the store finds it has lost its data (a Redis restarted without it). Grains holding a run's
    /// state in memory compare it with the value they last saw and, when it grew, write their state again, so the
    /// stored copy is whole once more. A store that cannot lose its data stays at 0.
    /// </summary>
    long Generation => 0;
}

/// <summary>
/// The run store of embedded mode: files under the data directory, each written to a temporary name and renamed,
/// so a process killed mid-write (SIGKILL included) leaves either the old file or the new one, never half of one.
/// Shared by the silos of one machine.
/// </summary>
public sealed class FileRunStore(string dataDirectory) : IRunStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    private string RunsFolder => Path.Combine(dataDirectory, "runs");

    public async Task<bool> SaveRunAsync(RunRecord record)
    {
        if (await LoadRunAsync(record.RunId) is { } stored && stored.Epoch > record.Epoch)
        {
            return false;
        }

        await WriteAtomicallyAsync(Path.Combine(RunFolder(record.RunId), "run.json"), JsonSerializer.SerializeToUtf8Bytes(record, Json));
        return true;
    }

    public async Task<RunRecord?> LoadRunAsync(string runId)
    {
        var file = Path.Combine(RunFolder(runId), "run.json");
        return File.Exists(file) ? JsonSerializer.Deserialize<RunRecord>(await File.ReadAllBytesAsync(file), Json) : null;
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync()
    {
        if (!Directory.Exists(RunsFolder))
        {
            return [];
        }

        var runs = new List<RunRecord>();
        foreach (var folder in Directory.EnumerateDirectories(RunsFolder))
        {
            var file = Path.Combine(folder, "run.json");
            if (File.Exists(file))
            {
                runs.Add(JsonSerializer.Deserialize<RunRecord>(await File.ReadAllBytesAsync(file), Json)!);
            }
        }

        return [.. runs.OrderBy(r => r.StartedAt)];
    }

    public async Task<bool> SaveShardAsync(string aggregateKey, ShardResult result)
    {
        var file = Path.Combine(ShardFolder(aggregateKey), SafeName(result.EffectiveDeliveryId) + ".json");
        if (File.Exists(file))
        {
            return false;
        }

        await WriteAtomicallyAsync(file, JsonSerializer.SerializeToUtf8Bytes(result, Json));
        return true;
    }

    public async Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey)
    {
        var folder = ShardFolder(aggregateKey);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var shards = new List<ShardResult>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            shards.Add(JsonSerializer.Deserialize<ShardResult>(await File.ReadAllBytesAsync(file), Json)!);
        }

        return shards;
    }

    private string RunFolder(string runId) => Path.Combine(RunsFolder, SafeName(runId));

    /// <summary>"{run}/{model}" to runs/{run}/models/{model}: both parts are checked names, never paths.</summary>
    private string ShardFolder(string aggregateKey)
    {
        var parts = aggregateKey.Split('/', 2);
        return Path.Combine(RunFolder(parts[0]), "models", SafeName(parts[^1]));
    }

    private static string SafeName(string name)
    {
        if (name.Length is 0 or > 128 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || name.StartsWith('.'))
        {
            throw new ArgumentException($"'{name}' cannot name a run or model folder (letters, digits, '-', '_', '.').");
        }

        return name;
    }

    private static async Task WriteAtomicallyAsync(string file, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temporary = $"{file}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
            {
                await stream.WriteAsync(content);
            }

            File.Move(temporary, file, overwrite: true);
        }
        catch (IOException)
        {
            // A full disk leaves a partial temporary file: remove it (the stored file, if any, is untouched).
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
            }

            throw;
        }
    }
}
