using System.Net;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Hosting;
using Icdiff.Synthesis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Icdiff.Bench;

/// <summary>
/// <c>bench scale-out</c>: how throughput grows with worker silos. A coordinator silo and N worker silos run in this
/// process as a cluster (localhost clustering, real grain calls between silos); each worker's embedder is the built-in
/// model behind a fixed per-batch latency, one batch at a time, standing in for a GPU that this machine does not have.
/// The images are small, so decoding leaves the cores mostly idle and the simulated devices are the bottleneck, as
/// GPUs are on GPU silos: the figure isolates what the dispatch adds or loses as silos are added.
/// </summary>
internal static class ScaleOutCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the generated images and the silos' data.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-bench-scale-out") };
        var workers = new Option<string>("--workers") { Description = "Worker silo counts to measure, comma-separated.", DefaultValueFactory = _ => "1,2,4" };
        var latency = new Option<int>("--batch-latency-ms") { Description = "Fixed latency of one embedding batch on a simulated device.", DefaultValueFactory = _ => 400 };
        var images = new Option<int>("--images") { Description = "Generated images per audit.", DefaultValueFactory = _ => 2048 };
        var repeat = new Option<int>("--repeat") { Description = "Audits per worker count (the median is reported).", DefaultValueFactory = _ => 3 };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: bench-scale-out.json in --work)." };
        var command = new Command("scale-out", "Measure audit throughput with 1, 2, 4 worker silos whose embedders have a fixed per-batch latency (a stand-in for GPUs).") { work, workers, latency, images, repeat, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var counts = ParseCounts(parse.GetValue(workers)!);
            var batchLatency = TimeSpan.FromMilliseconds(parse.GetValue(latency) is var ms and >= 1 and <= 60_000 ? ms : throw new CliError("--batch-latency-ms must be 1..60000."));
            var imageCount = parse.GetValue(images) is var n and >= 64 and <= 1_000_000 ? n : throw new CliError("--images must be 64..1000000.");
            var repeats = Math.Max(1, parse.GetValue(repeat));
            var (gallery, generated) = EnsureCorpus(folder, imageCount);
            var rows = new List<Dictionary<string, object>>();
            double? single = null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{imageCount} generated images, gallery of {Directory.GetFiles(gallery).Length}; each worker: built-in model behind a fixed {batchLatency.TotalMilliseconds:0} ms per batch of {new PipelineBatchSize().Value}"));
            Console.WriteLine("workers   img/s (median)   range            scaling   per worker");
            foreach (var count in counts)
            {
                var rates = new List<double>();
                await using (var cluster = await BenchCluster.StartAsync(count, Path.Combine(folder, $"data-{count}"), batchLatency, ct))
                {
                    for (var i = 0; i <= repeats; i++)
                    {
                        // The first audit also indexes the gallery and warms every silo up; it is not counted.
                        var rate = await cluster.AuditAsync(gallery, generated, ct);
                        if (i > 0)
                        {
                            rates.Add(rate);
                        }
                    }
                }

                rates.Sort();
                var median = rates[rates.Count / 2];
                single ??= count == 1 ? median : null;
                var scaling = single is { } one ? median / one : double.NaN;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count,7}   {median,14:0.0}   {rates[0],6:0.0} - {rates[^1],-6:0.0}   {scaling,7:0.00}   {scaling / count,10:0.00}"));
                rows.Add(new Dictionary<string, object>
                {
                    ["workers"] = count,
                    ["imagesPerSecond"] = median,
                    ["samples"] = rates,
                    ["scalingVsOneWorker"] = double.IsNaN(scaling) ? "n/a" : scaling,
                    ["efficiency"] = double.IsNaN(scaling) ? "n/a" : scaling / count,
                });
            }

            var figures = new Dictionary<string, object>
            {
                ["machine"] = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, runtime = Environment.Version.ToString() },
                ["date"] = DateTimeOffset.UtcNow,
                ["batchLatencyMs"] = batchLatency.TotalMilliseconds,
                ["images"] = imageCount,
                ["scaleOut"] = rows,
            };
            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(folder, "bench-scale-out.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static int[] ParseCounts(string text)
    {
        var counts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c is >= 1 and <= 16 ? c : throw new CliError($"--workers: '{t}' is not a count 1..16."))
            .Distinct().Order().ToArray();
        return counts.Length > 0 ? counts : throw new CliError("--workers lists no count.");
    }

    /// <summary>Small PNG scenes (96x96): a gallery of 256 and the generated images, drawn once and reused.</summary>
    private static (string Gallery, string Generated) EnsureCorpus(string folder, int imageCount)
    {
        var gallery = Directory.CreateDirectory(Path.Combine(folder, "gallery")).FullName;
        var generated = Directory.CreateDirectory(Path.Combine(folder, $"generated-{imageCount}")).FullName;
        Draw(gallery, 256, 1);
        Draw(generated, imageCount, 1_000_000);
        return (gallery, generated);

        static void Draw(string directory, int count, int seedBase) => Parallel.For(0, count, i =>
        {
            var file = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"scene-{i:D7}.png"));
            if (!File.Exists(file))
            {
                using var bitmap = SceneGenerator.Draw(seedBase + i, 96, 96);
                using var data = bitmap.Encode(SKEncodedImageFormat.Png, 90);
                File.WriteAllBytes(file, data.ToArray());
            }
        });
    }

    /// <summary>The pipeline's default batch size, which is what a simulated device receives per call.</summary>
    private readonly record struct PipelineBatchSize()
    {
        public int Value { get; } = new Icdiff.Pipeline.PipelineOptions().EmbedBatchSize;
    }

    /// <summary>A coordinator silo and N worker silos in this process, joined by localhost clustering.</summary>
    private sealed class BenchCluster : IAsyncDisposable
    {
        private readonly List<IHost> _silos;

        private BenchCluster(List<IHost> silos) => _silos = silos;

        private IGrainFactory Grains => _silos[0].Services.GetRequiredService<IGrainFactory>();

        public static async Task<BenchCluster> StartAsync(int workers, string dataDirectory, TimeSpan batchLatency, CancellationToken cancellationToken)
        {
            var clusterId = $"bench-{Guid.NewGuid():N}";
            var primary = new IPEndPoint(IPAddress.Loopback, FreePort());
            var silos = new List<IHost>();
            try
            {
                silos.Add(await StartSiloAsync(SiloRoles.Coordinator, primary.Port, null, clusterId, dataDirectory, batchLatency, cancellationToken));
                for (var i = 0; i < workers; i++)
                {
                    silos.Add(await StartSiloAsync(SiloRoles.Worker, FreePort(), primary, clusterId, dataDirectory, batchLatency, cancellationToken));
                }
            }
            catch
            {
                await new BenchCluster(silos).DisposeAsync();
                throw;
            }

            var cluster = new BenchCluster(silos);
            await cluster.WaitForWorkersAsync(workers, cancellationToken);
            return cluster;
        }

        /// <summary>Audits the corpus and returns the scan phase's rate (images per second), the gallery already indexed.</summary>
        public async Task<double> AuditAsync(string gallery, string generated, CancellationToken cancellationToken)
        {
            var request = new AuditRequest(gallery, [new ModelCorpus("bench", generated)], "builtin", ReplicaCriterion.DefaultMinLevel, ReplicaCriterion.DefaultCandidates, 64);
            var run = Grains.GetGrain<IAuditRunGrain>($"scale-out-{Guid.NewGuid():N}");
            var status = await run.StartAsync(request);
            Stopwatch? scanning = null;
            while (!status.IsFinished)
            {
                await Task.Delay(20, cancellationToken);
                status = await run.GetStatusAsync();
                if (scanning is null && status.State == RunState.Scanning)
                {
                    scanning = Stopwatch.StartNew();
                }
            }

            if (status.State != RunState.Completed)
            {
                throw new CliError($"the benchmark audit ended {status.State}: {status.Error}");
            }

            var done = status.Models.Sum(m => m.Done);
            return done / (scanning ?? Stopwatch.StartNew()).Elapsed.TotalSeconds;
        }

        private async Task WaitForWorkersAsync(int workers, CancellationToken cancellationToken)
        {
            var directory = _silos[0].Services.GetRequiredService<WorkerSiloDirectory>();
            var deadline = Stopwatch.StartNew();
            while (directory.ActiveWorkers().Count < workers)
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(1))
                {
                    throw new CliError($"only {directory.ActiveWorkers().Count} of {workers} worker silos joined the benchmark cluster within a minute.");
                }

                await Task.Delay(100, cancellationToken);
            }
        }

        private static async Task<IHost> StartSiloAsync(string role, int siloPort, IPEndPoint? primary, string clusterId, string dataDirectory, TimeSpan batchLatency, CancellationToken cancellationToken)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(
            [
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.DataDirectory)}", dataDirectory),
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.Roles)}", role),
                // One inference thread per simulated device: the real model's share of each batch stays small.
                new($"{OnnxOptions.SectionName}:{nameof(OnnxOptions.IntraOpThreads)}", "1"),
            ]);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
            builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
            // Registered before the adapters, whose own registration of the provider then stands aside.
            builder.Services.AddSingleton<IEmbedderProvider>(sp => new FixedLatencyEmbedderProvider(sp.GetRequiredService<ModelCatalog>(), batchLatency));
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, FreePort(), primary, clusterId, clusterId);
                silo.UseInMemoryReminderService();
                silo.AddIcdiffSilo();
            });
            var host = builder.Build();
            await host.StartAsync(cancellationToken);
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            // Workers first, the primary (membership) last.
            for (var i = _silos.Count - 1; i >= 0; i--)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _silos[i].StopAsync(timeout.Token);
                _silos[i].Dispose();
            }
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    /// <summary>The real embedder behind a device that takes a fixed time per batch and runs one batch at a time.</summary>
    private sealed class FixedLatencyEmbedderProvider(IEmbedderProvider inner, TimeSpan batchLatency) : IEmbedderProvider
    {
        private readonly Lock _device = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IEmbedder> _embedders = new(StringComparer.Ordinal);

        // One wrapper per model, as the catalog keeps one session per model: the pipeline batches per embedder.
        public IEmbedder Get(string manifestPath) => _embedders.GetOrAdd(manifestPath, path => new FixedLatencyEmbedder(inner.Get(path), batchLatency, _device));
    }

    private sealed class FixedLatencyEmbedder(IEmbedder inner, TimeSpan batchLatency, Lock device) : IEmbedder
    {
        public ModelManifest Manifest => inner.Manifest;

        public string Fingerprint => inner.Fingerprint;

        public void Embed(Memory<float> inputs, int count, Memory<float> outputs)
        {
            lock (device)
            {
                var clock = Stopwatch.StartNew();
                inner.Embed(inputs, count, outputs);
                var left = batchLatency - clock.Elapsed;
                if (left > TimeSpan.Zero)
                {
                    Thread.Sleep(left);
                }
            }
        }

        // The inner embedder belongs to the catalog, which disposes it.
        public void Dispose()
        {
        }
    }
}
