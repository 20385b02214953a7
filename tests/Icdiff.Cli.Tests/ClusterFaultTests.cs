using System.Diagnostics;
using System.Text.Json;
using Icdiff.Synthesis;
using Icdiff.Tests.Shared;
using StackExchange.Redis;

namespace Icdiff.Cli.Tests;

/// <summary>
/// Faults a running cluster must ride out, with real processes: a coordinator-only silo and two worker-only silos
/// joined through a Redis on loopback, and the CLI following a run as a client. The coordinator is killed mid-run and
/// started again; later Redis is killed and started again empty. Each run ends with the embedded result.
/// </summary>
public sealed partial class ClusterTests
{
    [Fact]
    public async Task CoordinatorKilledAndRedisRestartedEmpty_MidRun_TheClientFinishesWithTheEmbeddedResult()
    {
        Assert.SkipWhen(!File.Exists("/usr/bin/redis-server"), "redis-server is not installed (Debian redis-server; .ci/run installs it)");
        var root = Directory.CreateTempSubdirectory("icdiff-faults-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(43), null, Token);
        string[] request = ["--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}", "--shard-size", "2"];
        var total = corpus.Spec.Models.Sum(m => m.Total);
        var embedded = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), ["audit", .. request, "--out", Path.Combine(root, "embedded"), "--data-dir", Path.Combine(root, "embedded-data")]);
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);
        var expected = await ReportResult.ReadAsync(Path.Combine(root, "embedded"));

        var (redis, redisPort, redisArgs, redisData) = await StartPersistentRedisAsync(root);
        var connection = $"127.0.0.1:{redisPort}";
        var data = Path.Combine(root, "cluster-data");
        History = null;
        int[] siloPorts = [FreePort(), FreePort(), FreePort()];
        int[] gatewayPorts = [FreePort(), FreePort(), FreePort()];
        int[] httpPorts = [FreePort(), FreePort(), FreePort()];
        string[] roles = ["coordinator", "worker", "worker"];
        var silos = StartSilos(connection, data, siloPorts, gatewayPorts, httpPorts, roles);
        using var store = await ConnectionMultiplexer.ConnectAsync($"{connection},abortConnect=false");
        try
        {
            await WaitUntilActiveAsync(silos, httpPorts);

            // 1. The coordinator is killed (SIGKILL) once some shards are stored, and started again two seconds later.
            var known = new HashSet<string>();
            var (client, clientOut, clientErr) = StartClient(request, connection, Path.Combine(root, "coordinator-lost"));
            var runId = await WaitForStoredShardsAsync(store, known, client);
            silos[0].Kill(entireProcessTree: true);
            await silos[0].WaitForExitAsync(Token);
            await Task.Delay(TimeSpan.FromSeconds(2), Token);
            silos[0] = StartSilos(connection, data, [siloPorts[0]], [gatewayPorts[0]], [httpPorts[0]], ["coordinator"])[0];
            await WaitForExitAsync(client, TimeSpan.FromMinutes(5));
            var stderr = await clientErr;
            Assert.True(client.ExitCode == 0, $"{await clientOut}\n{stderr}\n{SiloLogs(silos)}");
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.Equal(expected, await ReportResult.ReadAsync(Path.Combine(root, "coordinator-lost")));
            known.Add(runId);

            // 2. Redis is killed once some shards of a new run are stored and started again with no data (its files removed).
            (client, clientOut, clientErr) = StartClient(request, connection, Path.Combine(root, "redis-lost"));
            runId = await WaitForStoredShardsAsync(store, known, client);
            redis.Kill();
            await redis.WaitForExitAsync(Token);
            foreach (var file in Directory.EnumerateFileSystemEntries(redisData))
            {
                if (Directory.Exists(file))
                {
                    Directory.Delete(file, recursive: true);
                }
                else
                {
                    File.Delete(file);
                }
            }

            redis = Start("/usr/bin/redis-server", redisArgs, null);
            await WaitForPortAsync(redisPort);
            await WaitForExitAsync(client, TimeSpan.FromMinutes(5));
            stderr = await clientErr;
            Assert.True(client.ExitCode == 0, $"{await clientOut}\n{stderr}\n{SiloLogs(silos)}");
            Assert.Equal(expected, await ReportResult.ReadAsync(Path.Combine(root, "redis-lost")));

            // The silos listed themselves again (healthy), so a new client finds the cluster and the finished run.
            await WaitUntilActiveAsync(silos, httpPorts);
            var status = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), null, null, ["status", runId, "--cluster", connection]);
            Assert.True(status.ExitCode == 0, $"{status.Stdout}\n{status.Stderr}\n{SiloLogs(silos)}");
            Assert.Contains($"Run {runId}: Completed", status.Stdout, StringComparison.Ordinal);
            // And the run store holds the whole run again: its record, and every item once written back. The write-back
            // is the coordinator's, on its next look at the store after the loss (the run may have ended just before
            // Redis went, and then its ended activation writes it back), so it is waited for, within a minute.
            var writtenBack = Stopwatch.StartNew();
            while (writtenBack.Elapsed < TimeSpan.FromMinutes(1)
                && !(await store.GetDatabase().KeyExistsAsync($"icdiff:icdiff:run:{runId}") && await StoredItemsAsync(store, runId) == total))
            {
                await Task.Delay(200, Token);
            }

            Assert.True(await store.GetDatabase().KeyExistsAsync($"icdiff:icdiff:run:{runId}"), $"the run record was not written back within a minute\n{SiloLogs(silos)}");
            Assert.Equal(total, await StoredItemsAsync(store, runId));
        }
        finally
        {
            StopAll(silos, redis);
        }
    }

    private static (Process Client, Task<string> Stdout, Task<string> Stderr) StartClient(string[] request, string connection, string output)
    {
        var client = Start("dotnet", [Path.Combine(Bin, "icdiff.dll"), "audit", .. request, "--cluster", connection, "--out", output], null);
        return (client, client.StandardOutput.ReadToEndAsync(Token), client.StandardError.ReadToEndAsync(Token));
    }

    /// <summary>The id of the new run (not in <paramref name="known"/>) once at least three of its deliveries are stored.</summary>
    private static async Task<string> WaitForStoredShardsAsync(ConnectionMultiplexer store, HashSet<string> known, Process client)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3) && !client.HasExited)
        {
            var run = (await store.GetDatabase().SetMembersAsync("icdiff:icdiff:runs")).Select(v => v.ToString()).FirstOrDefault(id => !known.Contains(id));
            if (run is not null && await StoredShardsAsync(store, run) >= 3)
            {
                return run;
            }

            await Task.Delay(20, Token);
        }

        Assert.Fail($"no run stored three deliveries before the client {(client.HasExited ? $"exited {client.ExitCode}" : "timed out")}: the fault would prove nothing");
        return null!;
    }

    private static async Task WaitForExitAsync(Process process, TimeSpan limit)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Token);
        wait.CancelAfter(limit);
        await process.WaitForExitAsync(wait.Token);
    }

    /// <summary>Distinct generated images with a stored outcome for the run, over both models' deliveries.</summary>
    private static async Task<int> StoredItemsAsync(ConnectionMultiplexer store, string runId)
    {
        var count = 0;
        foreach (var model in new[] { "model-a", "model-b" })
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in await store.GetDatabase().HashGetAllAsync($"icdiff:icdiff:shards:{runId}/{model}"))
            {
                using var delivery = JsonDocument.Parse(entry.Value.ToString());
                foreach (var list in new[] { "Matches", "Skipped" })
                {
                    keys.UnionWith(delivery.RootElement.GetProperty(list).EnumerateArray().Select(i => i.GetProperty("Key").GetString()!));
                }
            }

            count += keys.Count;
        }

        return count;
    }
}
