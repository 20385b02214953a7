using System.Buffers;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Icdiff.Grains;
using Icdiff.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Icdiff.Bench;

/// <summary>What a worker silo of <c>bench scale</c> is asked to search: a slice of the query file, in batches.</summary>
internal sealed record ScaleQueryRequest(
    string SnapshotPath,
    int SnapshotCount,
    string Fingerprint,
    string[] Partitions,
    string QueriesFile,
    int First,
    int Count,
    int K,
    int Batch,
    string ResultsFile);

/// <summary>
/// The hidden <c>bench scale-silo</c>: one worker silo in its own process, so that its resident memory is its own.
/// It joins the benchmark's cluster (localhost clustering, the parent's silo as primary), prints "ready", then obeys
/// one command per line on stdin: <c>query &lt;request.json&gt;</c> searches a slice of the queries through this
/// silo's own sharded-index view (as an audit's worker does: fan-out to every partition, token reads through the
/// silo's bounded cache, exact re-rank) and answers "done &lt;seconds&gt; &lt;GC heap bytes&gt; &lt;GC committed bytes&gt;" or "failed &lt;message&gt;". End of stdin,
/// which is also what the parent's death looks like, stops the silo: it never outlives the benchmark.
/// </summary>
internal static partial class ScaleSilo
{
    public const string CommandName = "scale-silo";

    public static Command Create()
    {
        var cluster = new Option<string>("--cluster-id") { Required = true };
        var siloPort = new Option<int>("--silo-port") { Required = true };
        var gatewayPort = new Option<int>("--gateway-port") { Required = true };
        var primaryPort = new Option<int>("--primary-port") { Required = true };
        var data = new Option<string>("--data") { Required = true };
        var cacheMb = new Option<int>("--token-cache-mb") { Required = true };
        var command = new Command(CommandName, "One worker silo of 'bench scale' (started by it).") { cluster, siloPort, gatewayPort, primaryPort, data, cacheMb };
        command.Hidden = true;
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(
            [
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.DataDirectory)}", parse.GetValue(data)),
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.Roles)}", SiloRoles.Worker),
                new($"{GalleryIndexOptions.SectionName}:{nameof(GalleryIndexOptions.Kind)}", GalleryBackends.Sharded),
                new($"{GalleryIndexOptions.SectionName}:{nameof(GalleryIndexOptions.TokenCacheMegabytes)}", parse.GetValue(cacheMb).ToString(CultureInfo.InvariantCulture)),
            ]);
            ConfigureQuietLogging(builder.Logging);
            var clusterId = parse.GetValue(cluster)!;
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(parse.GetValue(siloPort), parse.GetValue(gatewayPort), new IPEndPoint(IPAddress.Loopback, parse.GetValue(primaryPort)), clusterId, clusterId);
                silo.UseInMemoryReminderService();
                silo.AddIcdiffSilo();
            });
            using var host = builder.Build();
            await host.StartAsync(ct);
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ScaleSilo));
            Console.WriteLine("ready");
            try
            {
                while (await Console.In.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("query ", StringComparison.Ordinal))
                    {
                        try
                        {
                            var seconds = await QueryAsync(host.Services, JsonSerializer.Deserialize<ScaleQueryRequest>(await File.ReadAllTextAsync(line["query ".Length..], ct))!, ct);
                            // Where the memory is, for the report: the GC heap (live + not yet collected) and what it has committed.
                            var heap = GC.GetGCMemoryInfo();
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {seconds:R} {heap.HeapSizeBytes} {heap.TotalCommittedBytes}"));
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            Log.QueryFailed(logger, ex);
                            Console.WriteLine($"failed {ex.Message.ReplaceLineEndings(" ")}");
                        }
                    }
                }
            }
            finally
            {
                using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await host.StopAsync(stopping.Token);
            }

            return 0;
        }));
        return command;
    }

    public static void ConfigureQuietLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        // Everything to stderr: stdout carries the protocol.
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        // The teardown stops the worker silos before the coordinator, which then reports every gossip and connection
        // attempt to them (a screenful after the figures); a failure during the run still fails the benchmark.
        logging.AddFilter("Orleans.Runtime.Messaging", LogLevel.Error);
        logging.AddFilter("Orleans.Runtime.MembershipService", LogLevel.Error);
        logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
    }

    /// <summary>
    /// Searches the request's slice with two batches in flight (while one batch is re-ranked here, the next is being
    /// scored in the partitions), writes each query's top-k rows and scores and returns the seconds it took.
    /// </summary>
    private static async Task<double> QueryAsync(IServiceProvider services, ScaleQueryRequest request, CancellationToken cancellationToken)
    {
        const int InFlight = 2;
        var snapshot = new GallerySnapshot(request.SnapshotPath, request.SnapshotCount, request.Fingerprint, GalleryBackends.Sharded, request.Partitions);
        var index = services.GetRequiredService<GalleryIndexBackends>().Open(snapshot, ProxyOnlyModel(ScaleVectors.Dim));
        var rows = new int[request.Count * request.K];
        var scores = new float[request.Count * request.K];
        Array.Fill(rows, -1);
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(InFlight);
        var batches = new List<Task>();
        for (var start = 0; start < request.Count; start += request.Batch)
        {
            await gate.WaitAsync(cancellationToken);
            var first = start;
            var count = Math.Min(request.Batch, request.Count - start);
            batches.Add(Task.Run(async () =>
            {
                // Each batch's queries are read as it starts, as an audit's worker gets them: the silo holds no slice of
                // the query file, whose size (15 MB for 5,000 queries) would count in its peak as if it were the index's.
                var queries = ArrayPool<float>.Shared.Rent(count * ScaleVectors.Dim);
                try
                {
                    ScaleVectors.ReadRows(request.QueriesFile, request.First + first, count, queries);
                    var found = await index.FindCandidatesAsync(queries.AsMemory(0, count * ScaleVectors.Dim), count, request.K, cancellationToken);
                    for (var q = 0; q < count; q++)
                    {
                        for (var c = 0; c < found[q].Length; c++)
                        {
                            rows[((first + q) * request.K) + c] = ScaleVectors.RowOf(found[q][c].Key);
                            scores[((first + q) * request.K) + c] = found[q][c].ProxyScore;
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(queries);
                    gate.Release();
                }
            }, cancellationToken));
        }

        await Task.WhenAll(batches);
        var seconds = clock.Elapsed.TotalSeconds;
        await using var output = File.Create(request.ResultsFile);
        output.Write(MemoryMarshal.AsBytes(rows.AsSpan()));
        output.Write(MemoryMarshal.AsBytes(scores.AsSpan()));
        return seconds;
    }

    /// <summary>A single-token model of <paramref name="dim"/>: the embedding is the proxy. Only its shape is read.</summary>
    public static ModelManifest ProxyOnlyModel(int dim) => new(
        "bench-scale", string.Empty, "input", new PreprocessSpec(1, 1, ResizeMode.Squash, 1, [0f], [1f]), "embedding", 1, dim,
        new MaxTokenCosineRule(1, [0.5f, 0.6f, 0.7f, 0.8f, 0.9f]), "synthetic proxies of bench scale");

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "bench scale: a query slice failed")]
        public static partial void QueryFailed(ILogger logger, Exception exception);
    }
}

/// <summary>
/// A <see cref="ScaleSilo"/> child process seen from the benchmark: its protocol lines, its memory figures from
/// /proc, and its end (stdin closed, then killed with its process tree if it lingers). The stderr of the child is
/// relayed with a prefix; nothing is left running when this is disposed, and a killed parent closes the child's stdin.
/// </summary>
internal sealed class ScaleSiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _stdout;
    private readonly Task _stderr;

    private ScaleSiloProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                _lines.Writer.TryWrite(line);
            }

            _lines.Writer.TryComplete();
        });
        _stderr = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                await Console.Error.WriteLineAsync($"[{name}] {line}");
            }
        });
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public static ScaleSiloProcess Start(string name, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run as this process was: through the apphost, or through `dotnet icdiff-bench.dll`.
        var host = Environment.ProcessPath ?? throw new CliError("bench scale cannot tell which program it runs as.");
        start.FileName = host;
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(ScaleSilo).Assembly.Location);
        }

        // A worker silo runs with the server GC (Icdiff.Silo is a web project, whose default it is; the image sets it
        // too); this process is the CLI, which keeps the workstation GC, so its children are told, unless the caller
        // chose otherwise. Peak memory per silo depends on it.
        if (Environment.GetEnvironmentVariable("DOTNET_gcServer") is null)
        {
            start.Environment["DOTNET_gcServer"] = "1";
        }

        start.ArgumentList.Add(ScaleSilo.CommandName);
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        return new ScaleSiloProcess(Process.Start(start) ?? throw new CliError($"could not start {name}."), name);
    }

    /// <summary>The next protocol line; the child ending first (a crash) is an error naming it.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(limit.Token);
        }
        catch (ChannelClosedException)
        {
            await _process.WaitForExitAsync(cancellationToken);
            throw new CliError($"{Name} exited (code {_process.ExitCode}) during the benchmark; its log is above.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliError($"{Name} did not answer within {timeout.TotalSeconds:0} s.");
        }
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Resident and peak resident memory in bytes (VmRSS, VmHWM of /proc/pid/status); null off Linux.</summary>
    public (long Rss, long Peak)? Memory()
    {
        var status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status))
        {
            return null;
        }

        long Field(string[] lines, string name) =>
            lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } l
                ? long.Parse(l[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024
                : 0;
        var lines = File.ReadAllLines(status);
        return (Field(lines, "VmRSS:"), Field(lines, "VmHWM:"));
    }

    /// <summary>User + system CPU time of the child so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // End of stdin asks the silo to stop; one that does not within the grace period is killed.
                _process.StandardInput.Close();
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }

            await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException)
        {
            // Already gone, or its pipes broke: nothing left to stop.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>Kills the child at once (the parent is exiting without a chance to dispose).</summary>
    public void KillNow()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
