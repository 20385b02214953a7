using Icdiff.Tests.Shared;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Icdiff.Synthesis;
using StackExchange.Redis;

namespace Icdiff.Cli.Tests;

/// <summary>
/// Real processes: a Redis server on loopback, two silo processes joined through it, and the CLI as a client. A run
/// completes with the embedded result; killing every process mid-run and starting the silos again, the run resumes
/// when asked and still gives that result.
/// </summary>
public sealed partial class ClusterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Collections.Concurrent.ConcurrentQueue<string>> ServerLogs = new();

    private static string Bin => AppContext.BaseDirectory;

    private static string SiloLogs(IEnumerable<Process> silos) =>
        string.Join("\n", silos.Select(p => $"--- silo {p.Id}{(p.HasExited ? $" (exited {p.ExitCode})" : "")}:\n" + string.Join("\n", ServerLogs.GetValueOrDefault(p.Id) ?? new())));

    /// <summary>A CLI run of at most five minutes; one that overruns fails with the silos' logs, which say why it hung.</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunShowingSiloLogsAsync(IEnumerable<Process> silos, string[] args)
    {
        try
        {
            return await CliProcess.RunAsync(TimeSpan.FromMinutes(5), null, null, args);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{SiloLogs(silos)}", ex);
        }
    }

    [Fact]
    public async Task TwoSiloProcessesAndAClientThroughRedis_RunAnAudit_AndResumeItAfterEveryProcessIsKilled()
    {
        Assert.SkipWhen(!File.Exists("/usr/bin/redis-server"), "redis-server is not installed (Debian redis-server; .ci/run installs it)");
        var root = Directory.CreateTempSubdirectory("icdiff-cluster-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(37), null, Token);
        string[] request = ["--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}", "--shard-size", "2"];
        var embedded = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), ["audit", .. request, "--out", Path.Combine(root, "embedded"), "--data-dir", Path.Combine(root, "embedded-data")]);
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var (redis, redisPort, redisArgs, _) = await StartPersistentRedisAsync(root);
        var connection = $"127.0.0.1:{redisPort}";
        var data = Path.Combine(root, "cluster-data");
        // The cluster's history in PostgreSQL when a server is at hand (CI), else SQLite in the shared data directory.
        await using var postgres = await TestPostgres.CreateAsync();
        History = postgres?.ConnectionString;
        int[] siloPorts = [FreePort(), FreePort()];
        int[] gatewayPorts = [FreePort(), FreePort()];
        int[] httpPorts = [FreePort(), FreePort()];
        var silos = StartSilos(connection, data, siloPorts, gatewayPorts, httpPorts);
        try
        {
            await WaitUntilActiveAsync(silos, httpPorts);
            // 1. A whole run through the cluster.
            var whole = await RunShowingSiloLogsAsync(silos, ["audit", .. request, "--cluster", connection, "--out", Path.Combine(root, "whole")]);
            Assert.True(whole.ExitCode == 0, $"{whole.Stdout}\n{whole.Stderr}\n{SiloLogs(silos)}");
            Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "embedded")), await ReportResult.ReadAsync(Path.Combine(root, "whole")));
            await AssertWebHostsAsync(httpPorts);
            await AssertHistoryAsync(httpPorts[0], WholeRunIds(whole.Stdout).Single(), Path.Combine(root, "whole", "report.json"), postgres is not null);

            // 2. A run interrupted by killing the client and both silos once some shards are stored.
            using var store = await ConnectionMultiplexer.ConnectAsync(connection);
            var client = Start("dotnet", [Path.Combine(Bin, "icdiff.dll"), "audit", .. request, "--cluster", connection, "--out", Path.Combine(root, "lost")], null);
            var clientOut = client.StandardOutput.ReadToEndAsync(Token);
            var deadline = DateTime.UtcNow.AddMinutes(3);
            string? runId = null;
            while (DateTime.UtcNow < deadline && !client.HasExited)
            {
                var run = (await store.GetDatabase().SetMembersAsync("icdiff:icdiff:runs")).Select(v => v.ToString()).FirstOrDefault(id => !WholeRunIds(whole.Stdout).Contains(id));
                if (run is not null && await StoredShardsAsync(store, run) >= 3)
                {
                    runId = run;
                    break;
                }

                await Task.Delay(20, Token);
            }

            client.Kill(entireProcessTree: true);
            foreach (var silo in silos)
            {
                silo.Kill(entireProcessTree: true);
            }

            await client.WaitForExitAsync(Token);
            foreach (var silo in silos)
            {
                // Gone for good before the restart: a process still dying holds its ports.
                await silo.WaitForExitAsync(Token);
            }

            Assert.NotNull(runId);
            var storedAtKill = await StoredShardsAsync(store, runId);
            Assert.InRange(storedAtKill, 1, corpus.Spec.Models.Sum(m => (m.Total + 1) / 2) - 1);
            _ = await clientOut;

            silos = StartSilos(connection, data, siloPorts, gatewayPorts, httpPorts);
            // Restarted on the same addresses, the silos first have to vote their killed predecessors dead: wait
            // for both to be active members (their readiness probe) before a client is sent in.
            await WaitUntilActiveAsync(silos, httpPorts);
            var resumed = await RunShowingSiloLogsAsync(silos, ["status", runId, "--cluster", connection, "--follow", "--out", Path.Combine(root, "resumed")]);

            Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}\n{SiloLogs(silos)}");
            Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "embedded")), await ReportResult.ReadAsync(Path.Combine(root, "resumed")));

            // 3. Redis restarted mid-run (SIGTERM, down for two seconds, started again on its data): the silos' store calls
            // ride out the restart and the run completes with the embedded result.
            var known = (await store.GetDatabase().SetMembersAsync("icdiff:icdiff:runs")).Select(v => v.ToString()).ToHashSet();
            var third = Start("dotnet", [Path.Combine(Bin, "icdiff.dll"), "audit", .. request, "--cluster", connection, "--out", Path.Combine(root, "through-restart")], null);
            var thirdOut = third.StandardOutput.ReadToEndAsync(Token);
            var thirdErr = third.StandardError.ReadToEndAsync(Token);
            deadline = DateTime.UtcNow.AddMinutes(3);
            var restarted = false;
            while (DateTime.UtcNow < deadline && !third.HasExited)
            {
                var run = (await store.GetDatabase().SetMembersAsync("icdiff:icdiff:runs")).Select(v => v.ToString()).FirstOrDefault(id => !known.Contains(id));
                if (run is not null && await StoredShardsAsync(store, run) >= 3)
                {
                    await TerminateAsync(redis);
                    await Task.Delay(TimeSpan.FromSeconds(2), Token);
                    redis = Start("/usr/bin/redis-server", redisArgs, null);
                    await WaitForPortAsync(redisPort);
                    restarted = true;
                    break;
                }

                await Task.Delay(20, Token);
            }

            using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
            {
                await third.WaitForExitAsync(wait.Token);
            }

            Assert.True(restarted, "the run finished before Redis could be restarted; the test proves nothing");
            Assert.True(third.ExitCode == 0, $"{await thirdOut}\n{await thirdErr}\n{SiloLogs(silos)}");
            Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "embedded")), await ReportResult.ReadAsync(Path.Combine(root, "through-restart")));
        }
        finally
        {
            StopAll(silos, redis);
        }
    }

    /// <summary>
    /// A gallery with exact duplicates (see <see cref="DuplicateGallery"/>): on a cluster, where gallery batches finish
    /// on two worker silos in whatever order they finish, every match is the one the embedded run finds, under the
    /// smallest key of its copies; a shuffled listing with other batch sizes gives it too.
    /// </summary>
    [Fact]
    public async Task DuplicateGalleryImages_GiveTheEmbeddedMatches_OnACluster()
    {
        Assert.SkipWhen(!File.Exists("/usr/bin/redis-server"), "redis-server is not installed (Debian redis-server; .ci/run installs it)");
        var root = Directory.CreateTempSubdirectory("icdiff-cluster-ties-").FullName;
        var corpus = DuplicateGallery.Build(Path.Combine(root, "corpus"));
        var embedded = await DuplicateGalleryTests.AuditAsync(root, "embedded", corpus.GalleryPath, corpus.GeneratedPath, 1);
        corpus.AssertMatchesTakeTheSmallestKey(embedded);

        var redisPort = FreePort();
        var redis = Start("/usr/bin/redis-server", ["--port", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], null);
        var connection = $"127.0.0.1:{redisPort}";
        await WaitForPortAsync(redisPort);
        // SQLite history under the data directory: this test is about matches, not about the history store.
        History = null;
        int[] httpPorts = [FreePort(), FreePort()];
        // Ids other than the defaults, set alike for silos and CLI: Orleans keys the membership table by both.
        var ids = new Dictionary<string, string> { ["Icdiff__Cluster__ClusterId"] = "ties-cluster", ["Icdiff__Cluster__ServiceId"] = "ties-service" };
        var silos = StartSilos(connection, Path.Combine(root, "cluster-data"), [FreePort(), FreePort()], [FreePort(), FreePort()], httpPorts, extra: ids);
        try
        {
            await WaitUntilActiveAsync(silos, httpPorts);
            foreach (var (name, gallery, shardSize) in new[] { ("cluster-folder", corpus.GalleryPath, 1), ("cluster-manifest", corpus.ShuffledManifest, 2) })
            {
                var run = await CliProcess.RunAsync(TimeSpan.FromMinutes(3), ids, null, ["audit", "--gallery", gallery, "--generated", $"model-a={corpus.GeneratedPath}",
                    "--shard-size", shardSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cluster", connection, "--out", Path.Combine(root, name)]);
                Assert.True(run.ExitCode == 0, $"{run.Stdout}\n{run.Stderr}\n{SiloLogs(silos)}");
                Assert.Equal(embedded, await File.ReadAllLinesAsync(Path.Combine(root, name, "matches.csv"), Token));
            }
        }
        finally
        {
            StopAll(silos, redis);
        }
    }

    /// <summary>SIGTERM, as a service manager stops Redis: it writes its append-only file out and exits.</summary>
    private static async Task TerminateAsync(Process process)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(Token);
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(wait.Token);
    }

    /// <summary>The history connection string the silos get (PostgreSQL), or null for SQLite under the data directory.</summary>
    private static string? History { get; set; }

    /// <summary>
    /// The run is in the cluster's history with the report's figures, and the replication dashboard hosted by the
    /// silo's web host shows it (its models, its ratios) beside the Orleans Dashboard.
    /// </summary>
    private static async Task AssertHistoryAsync(int httpPort, string runId, string reportFile, bool onPostgres)
    {
        using var reportJson = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(reportFile, Token));
        var report = reportJson.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("summary"))
            .ToDictionary(s => s.GetProperty("model").GetString()!, s => (Scanned: s.GetProperty("scanned").GetInt32(), Replicas: s.GetProperty("replicas").GetInt32()));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var run = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/api/runs/{runId}"), Token));
        Assert.Equal("Completed", run.RootElement.GetProperty("state").GetString());
        var models = run.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!, m => (m.GetProperty("scanned").GetInt32(), m.GetProperty("replicas").GetInt32()));
        Assert.Equal(report.OrderBy(m => m.Key).Select(m => (m.Key, m.Value.Scanned, m.Value.Replicas)), models.OrderBy(m => m.Key).Select(m => (m.Key, m.Value.Item1, m.Value.Item2)));
        var overview = await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/"), Token);
        Assert.Contains(runId, overview, StringComparison.Ordinal);
        Assert.Contains("data-model=\"model-a\"", overview, StringComparison.Ordinal);
        if (onPostgres)
        {
            await using var connection = new Npgsql.NpgsqlConnection(History);
            await connection.OpenAsync(Token);
            await using var count = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM run_images WHERE run_id = @run", connection);
            count.Parameters.AddWithValue("run", runId);
            Assert.Equal(report.Sum(m => m.Value.Scanned), Convert.ToInt32(await count.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static HashSet<string> WholeRunIds(string stdout) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith("Run ", StringComparison.Ordinal)).Select(l => l.Split(' ', ':')[1])];

    private static async Task<long> StoredShardsAsync(ConnectionMultiplexer store, string runId)
    {
        var db = store.GetDatabase();
        return await db.HashLengthAsync($"icdiff:icdiff:shards:{runId}/model-a") + await db.HashLengthAsync($"icdiff:icdiff:shards:{runId}/model-b");
    }

    /// <summary>
    /// Each silo's web host after a run: ready, its Prometheus scrape holds the audit's own metrics (the worker
    /// silo's pipeline stages, the per-model items of the aggregates, wherever they live), and the dashboard is served.
    /// </summary>
    private static async Task AssertWebHostsAsync(int[] httpPorts)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var scrapes = new List<string>();
        foreach (var port in httpPorts)
        {
            Assert.Equal("active", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz"), Token));
            scrapes.Add(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), Token));
            using var dashboard = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/dashboard"), Token);
            Assert.True(dashboard.IsSuccessStatusCode, $"dashboard on port {port}: {(int)dashboard.StatusCode}");
            Assert.Contains("html", (await dashboard.Content.ReadAsStringAsync(Token)).ToLowerInvariant(), StringComparison.Ordinal);
        }

        var all = string.Join('\n', scrapes);
        Assert.Contains("icdiff_pipeline_images_total{", all, StringComparison.Ordinal);
        Assert.Contains("stage=\"embedded\"", all, StringComparison.Ordinal);
        Assert.Contains("icdiff_audit_items_total{", all, StringComparison.Ordinal);
        Assert.Contains("model=\"model-a\"", all, StringComparison.Ordinal);
        Assert.Contains("icdiff_pipeline_queue_depth", all, StringComparison.Ordinal);
    }

    private static List<Process> StartSilos(string redis, string data, int[] siloPorts, int[] gatewayPorts, int[] httpPorts, string[]? roles = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var silos = new List<Process>();
        for (var i = 0; i < siloPorts.Length; i++)
        {
            var environment = new Dictionary<string, string>
            {
                ["Icdiff__Cluster__Redis"] = redis,
                ["Icdiff__Cluster__SiloPort"] = siloPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Icdiff__Cluster__GatewayPort"] = gatewayPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Icdiff__Cluster__HttpPort"] = httpPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Icdiff__Silo__DataDirectory"] = data,
                // One silo coordinates and works, the other only works, as a CPU coordinator beside GPU workers would.
                ["Icdiff__Silo__Roles"] = roles?[i] ?? (i == 0 ? "coordinator,worker" : "worker"),
                ["Icdiff__Cluster__MembershipCheckInterval"] = "00:00:01",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Icdiff__History__Postgres"] = History ?? "",
            };
            foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            {
                environment[key] = value;
            }

            silos.Add(Start("dotnet", [Path.Combine(Bin, "icdiff-silo.dll")], environment));
        }

        return silos;
    }

    private static Process Start(string file, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        if (file != "dotnet" || !args.Any(a => a.EndsWith("icdiff.dll", StringComparison.Ordinal)))
        {
            // Server output is kept (last lines) for the failure message, not shown otherwise.
            var log = ServerLogs.GetOrAdd(process.Id, _ => new System.Collections.Concurrent.ConcurrentQueue<string>());
            DataReceivedEventHandler keep = (_, e) =>
            {
                if (e.Data is { } line)
                {
                    log.Enqueue(line);
                    while (log.Count > 200 && log.TryDequeue(out string? _))
                    {
                    }
                }
            };
            process.OutputDataReceived += keep;
            process.ErrorDataReceived += keep;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        return process;
    }

    /// <summary>Waits (up to three minutes) until every silo's /healthz says it is an active cluster member.</summary>
    private static async Task WaitUntilActiveAsync(List<Process> silos, int[] httpPorts)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var port in httpPorts)
        {
            while (true)
            {
                try
                {
                    using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"), Token);
                    if (health.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet.
                }

                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"silos not active after {clock.Elapsed}:\n{SiloLogs(silos)}");
                await Task.Delay(250, Token);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"silos active after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// A Redis on a free loopback port that keeps its data in an append-only file under <paramref name="root"/>, as a
    /// production Redis does, so that a test can restart it mid-run (with <c>Args</c>) on its data or, emptying
    /// <c>Data</c>, on none; returned once it listens.
    /// </summary>
    private static async Task<(Process Redis, int Port, string[] Args, string Data)> StartPersistentRedisAsync(string root)
    {
        var port = FreePort();
        var data = Directory.CreateDirectory(Path.Combine(root, "redis")).FullName;
        string[] args = ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", data];
        var redis = Start("/usr/bin/redis-server", args, null);
        await WaitForPortAsync(port);
        return (redis, port, args, data);
    }

    /// <summary>Kills the silos still running and Redis, at the end of a test however it ended.</summary>
    private static void StopAll(List<Process> silos, Process redis)
    {
        foreach (var silo in silos)
        {
            if (!silo.HasExited)
            {
                silo.Kill(entireProcessTree: true);
            }

            silo.Dispose();
        }

        redis.Kill();
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, Token);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, Token);
            }
        }

        throw new TimeoutException($"nothing listens on port {port}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
