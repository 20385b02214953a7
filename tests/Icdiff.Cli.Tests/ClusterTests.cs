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
public sealed class ClusterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string Bin => AppContext.BaseDirectory;

    [Fact]
    public async Task TwoSiloProcessesAndAClientThroughRedis_RunAnAudit_AndResumeItAfterEveryProcessIsKilled()
    {
        Assert.SkipWhen(!File.Exists("/usr/bin/redis-server"), "redis-server is not installed (Debian redis-server; .ci/run installs it)");
        var root = Directory.CreateTempSubdirectory("icdiff-cluster-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(37), null, Token);
        string[] request = ["--gallery", corpus.GalleryPath, "--generated", $"model-a={corpus.ModelPaths["model-a"]}", "--generated", $"model-b={corpus.ModelPaths["model-b"]}", "--shard-size", "2"];
        var embedded = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), ["audit", .. request, "--out", Path.Combine(root, "embedded"), "--data-dir", Path.Combine(root, "embedded-data")]);
        Assert.True(embedded.ExitCode == 0, embedded.Stderr);

        var redisPort = FreePort();
        using var redis = Start("/usr/bin/redis-server", ["--port", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], null);
        var connection = $"127.0.0.1:{redisPort}";
        await WaitForPortAsync(redisPort);
        var data = Path.Combine(root, "cluster-data");
        int[] siloPorts = [FreePort(), FreePort()];
        int[] gatewayPorts = [FreePort(), FreePort()];
        var silos = StartSilos(connection, data, siloPorts, gatewayPorts);
        try
        {
            // 1. A whole run through the cluster.
            var whole = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), null, null, ["audit", .. request, "--cluster", connection, "--out", Path.Combine(root, "whole")]);
            Assert.True(whole.ExitCode == 0, $"{whole.Stdout}\n{whole.Stderr}");
            Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "embedded")), await ReportResult.ReadAsync(Path.Combine(root, "whole")));

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
            Assert.NotNull(runId);
            var storedAtKill = await StoredShardsAsync(store, runId);
            Assert.InRange(storedAtKill, 1, corpus.Spec.Models.Sum(m => (m.Total + 1) / 2) - 1);
            _ = await clientOut;

            silos = StartSilos(connection, data, siloPorts, gatewayPorts);
            var resumed = await CliProcess.RunAsync(TimeSpan.FromMinutes(5), null, null, ["status", runId, "--cluster", connection, "--follow", "--out", Path.Combine(root, "resumed")]);

            Assert.True(resumed.ExitCode == 0, $"{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Equal(await ReportResult.ReadAsync(Path.Combine(root, "embedded")), await ReportResult.ReadAsync(Path.Combine(root, "resumed")));
        }
        finally
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
    }

    private static HashSet<string> WholeRunIds(string stdout) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith("Run ", StringComparison.Ordinal)).Select(l => l.Split(' ', ':')[1])];

    private static async Task<long> StoredShardsAsync(ConnectionMultiplexer store, string runId)
    {
        var db = store.GetDatabase();
        return await db.HashLengthAsync($"icdiff:icdiff:shards:{runId}/model-a") + await db.HashLengthAsync($"icdiff:icdiff:shards:{runId}/model-b");
    }

    private static List<Process> StartSilos(string redis, string data, int[] siloPorts, int[] gatewayPorts)
    {
        var silos = new List<Process>();
        for (var i = 0; i < siloPorts.Length; i++)
        {
            silos.Add(Start("dotnet", [Path.Combine(Bin, "icdiff-silo.dll")], new Dictionary<string, string>
            {
                ["Icdiff__Cluster__Redis"] = redis,
                ["Icdiff__Cluster__SiloPort"] = siloPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Icdiff__Cluster__GatewayPort"] = gatewayPorts[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Icdiff__Silo__DataDirectory"] = data,
                ["Logging__LogLevel__Default"] = "Warning",
            }));
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
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        return process;
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
