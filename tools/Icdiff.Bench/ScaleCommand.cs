using System.Net;
using System.Runtime.InteropServices;
using Icdiff.Grains;
using Icdiff.Hosting;
using Icdiff.Index.Embedded;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Icdiff.Bench;

/// <summary>
/// <c>bench scale</c>: the sharded gallery index at 250k, 500k and 1M entries on worker silos that are separate
/// processes (so each one's peak resident memory is its own), against FAISS <c>IndexFlatIP</c> on the same vectors in
/// the same run. Per size: a fresh cluster (this process hosts the coordinator silo, the primary, which holds no
/// vectors; each worker silo is a child process), the gallery built through the sharded router grain as an audit
/// builds it, the queries split over the worker silos and searched by each through its own sharded-index view as an
/// audit's workers search, then FAISS. Checked: planted near-duplicates found top-1, and the sharded top-k equal (rows
/// and float32 scores, to the bit) to an exhaustive float32 search of the first queries.
/// </summary>
internal static class ScaleCommand
{
    private const string Fingerprint = "bench-scale-synthetic-v1";
    private const int BuildChunk = 2_048;
    private const int BuildInFlight = 3;
    private const int ExhaustiveChunk = 65_536;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the vector files and the silos' data (the 1M gallery takes 3 GB, its token segments 3 GB more while it runs).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-bench-scale") };
        var sizes = new Option<string>("--sizes") { Description = "Gallery sizes, comma-separated.", DefaultValueFactory = _ => "250000,500000,1000000" };
        var queries = new Option<int>("--queries") { Description = "Queries per size (one in ten a planted near-duplicate).", DefaultValueFactory = _ => 10_000 };
        var silos = new Option<int>("--silos") { Description = "Worker silo processes.", DefaultValueFactory = _ => 2 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of the sharded index.", DefaultValueFactory = _ => 8 };
        var k = new Option<int>("--k") { Description = "Candidates per query (top-k).", DefaultValueFactory = _ => ReplicaCriterion.DefaultCandidates };
        var batch = new Option<int>("--batch") { Description = "Queries per search call (an audit's search batch is its embed batch).", DefaultValueFactory = _ => new Icdiff.Pipeline.PipelineOptions().EmbedBatchSize };
        var exhaustive = new Option<int>("--exhaustive") { Description = "Queries (the first ones) checked against an exhaustive float32 search.", DefaultValueFactory = _ => 1_000 };
        var cache = new Option<int>("--token-cache-mb") { Description = "Token cache bound of each worker silo, MiB.", DefaultValueFactory = _ => new GalleryIndexOptions().TokenCacheMegabytes };
        var warmup = new Option<int>("--warmup") { Description = "Queries each size's fresh silos search untimed first, so the timed searches run optimised code.", DefaultValueFactory = _ => 512 };
        var repeat = new Option<int>("--repeat") { Description = "Query passes per size, ours and FAISS's each (medians are reported).", DefaultValueFactory = _ => 1 };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: bench-scale.json in --work)." };
        var command = new Command("scale", "Sharded gallery index at 250k / 500k / 1M synthetic proxies on worker silo processes: exactness, memory per silo, build and query time, against FAISS IndexFlatIP.")
        {
            work, sizes, queries, silos, partitions, k, batch, exhaustive, cache, warmup, repeat, output,
        };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var settings = new ScaleSettings(
                ParseSizes(parse.GetValue(sizes)!),
                Range(parse.GetValue(queries), "--queries", 1, 1_000_000),
                Range(parse.GetValue(silos), "--silos", 1, 16),
                Range(parse.GetValue(partitions), "--partitions", 1, 4096),
                Range(parse.GetValue(k), "--k", 1, 1024),
                Range(parse.GetValue(batch), "--batch", 1, 4096),
                Range(parse.GetValue(cache), "--token-cache-mb", 0, 1_048_576),
                Range(parse.GetValue(repeat), "--repeat", 1, 20),
                Range(parse.GetValue(warmup), "--warmup", 0, 1_000_000));
            var exhaustiveCount = Range(parse.GetValue(exhaustive), "--exhaustive", 0, settings.Queries);
            var folder = Directory.CreateDirectory(Path.GetFullPath(parse.GetValue(work)!)).FullName;
            var figures = await RunAsync(settings, exhaustiveCount, folder, ct);
            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(folder, "bench-scale.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static async Task<Dictionary<string, object>> RunAsync(ScaleSettings settings, int exhaustiveCount, string folder, CancellationToken ct)
    {
        var cores = Environment.ProcessorCount;
        var clock = Stopwatch.StartNew();
        ScaleVectors.EnsureGallery(folder, settings.Sizes[^1]);
        var targets = ScaleVectors.WriteQueries(folder, settings.Queries, settings.Sizes[0]);
        var faissScript = Path.Combine(BenchCommand.ToolsFolder(), "bench", "faiss_flatip.py");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Vectors ready in {clock.Elapsed.TotalSeconds:0} s: gallery up to {settings.Sizes[^1]:N0} x {ScaleVectors.Dim} float32, {settings.Queries:N0} queries ({targets.Count(t => t >= 0):N0} planted); {settings.Silos} worker silo processes, {settings.Partitions} partitions, k = {settings.K}, batches of {settings.Batch}, token cache {settings.TokenCacheMegabytes} MiB per silo, {cores} cores"));
        Console.WriteLine($"  {"gallery",9} {"build s",8} {"us/entry",8} {"query s",8} {"ns/pair",8} {"pairs/s/core",12} {"FAISS /core",12} {"ratio",6} {"busy",5} {"/CPU-s",6} {"planted",9} {"exact",9} {"peak RSS per silo (MB) / expected",34}");
        var rows = new List<object>();
        FaissInfo? faissInfo = null;
        var faissMissing = false;
        foreach (var size in settings.Sizes)
        {
            var data = Path.Combine(folder, $"data-{size}");
            DeleteFolder(data);
            Dictionary<string, object> row;
            await using (var cluster = await ScaleCluster.StartAsync(settings, data, ct))
            {
                // Idle, empty silos: the fixed overhead every expectation adds.
                var overhead = cluster.Workers.Select(w => w.Memory()?.Peak ?? 0).ToArray();
                var build = Stopwatch.StartNew();
                var snapshot = await BuildAsync(cluster.Grains, cluster.ShardedIndexGrainClass, folder, size, ct);
                var buildSeconds = build.Elapsed.TotalSeconds;
                var afterBuild = cluster.Workers.Select(w => w.Memory()?.Rss ?? 0).ToArray();
                var peakAfterBuild = cluster.Workers.Select(w => w.Memory()?.Peak ?? 0).ToArray();

                // Fresh silos run tier-0 code (several times slower in the search loops) until the JIT has seen enough
                // calls; a long-running silo does not. The first queries are searched once untimed, their results unused.
                if (settings.Warmup > 0)
                {
                    _ = await cluster.QueryAsync(snapshot, folder, settings with { Queries = Math.Min(settings.Warmup, settings.Queries) }, ct);
                }

                var passes = new List<(double Seconds, double Busy)>();
                int[] found = [];
                float[] scores = [];
                (long Heap, long Committed)[] gc = [];
                for (var r = 0; r < settings.Repeat; r++)
                {
                    (var seconds, var passBusy, found, scores, gc) = await cluster.QueryAsync(snapshot, folder, settings, ct);
                    passes.Add((seconds, passBusy));
                }

                var peak = cluster.Workers.Select(w => w.Memory()?.Peak ?? 0).ToArray();
                var plantedFound = Enumerable.Range(0, settings.Queries).Count(q => targets[q] >= 0 && found[q * settings.K] == targets[q]);
                var planted = targets.Count(t => t >= 0);
                var (exactSame, exactChecked) = CompareExhaustive(folder, size, exhaustiveCount, settings.K, found, scores);

                var faiss = faissMissing ? null : RunFaiss(faissScript, folder, size, settings, cores);
                faissMissing |= faiss is null;
                faissInfo ??= faiss?.Info;

                var pairs = (double)settings.Queries * size;
                var querySeconds = MedianOf(passes.Select(p => p.Seconds));
                var oursPerCore = pairs / querySeconds / cores;
                double? faissPerCore = faiss is { } f ? pairs / MedianOf(f.SearchSeconds) / f.Info.Threads : null;
                // Pairs per CPU-second (all the silo processes' threads; all of FAISS's): the machine is shared with other
                // work, so wall-clock figures depend on the share each side got; CPU time does much less.
                var oursPerCpuSecond = MedianOf(passes.Select(p => pairs / (p.Busy * p.Seconds * cores)));
                double? faissPerCpuSecond = faiss is { } fc ? MedianOf(fc.SearchCpuSeconds.Select(c => pairs / c)) : null;
                var faissPlanted = faiss is { } g ? Enumerable.Range(0, settings.Queries).Count(q => targets[q] >= 0 && g.Ids[q * settings.K] == targets[q]) : (int?)null;
                var faissSameTopK = faiss is { } h ? Enumerable.Range(0, settings.Queries).Count(q => h.Ids.AsSpan(q * settings.K, settings.K).SequenceEqual(found.AsSpan(q * settings.K, settings.K))) : (int?)null;

                var partitionsOnBusiest = (settings.Partitions + settings.Silos - 1) / settings.Silos;
                var shareEntries = (long)Math.Ceiling((double)size * partitionsOnBusiest / settings.Partitions);
                var proxyBytes = shareEntries * ScaleVectors.Dim * 2;
                var cacheBytes = (long)settings.TokenCacheMegabytes << 20;
                var silos = Enumerable.Range(0, settings.Silos).Select(i => new
                {
                    silo = cluster.Workers[i].Name,
                    idlePeakBytes = overhead[i],
                    rssAfterBuildBytes = afterBuild[i],
                    peakAfterBuildBytes = peakAfterBuild[i],
                    peakBytes = peak[i],
                    expectedBytes = proxyBytes + cacheBytes + overhead[i],
                    // The acceptance measure: what the silo grew by over its idle self, against its share plus the cache bound.
                    growthOverShareAndCache = (double)(peak[i] - overhead[i]) / (proxyBytes + cacheBytes),
                    // Where it is: the GC heap after the last pass (live objects and garbage not yet collected) and the
                    // memory the GC had committed; the token cache's slab and the runtime's own are outside both.
                    gcHeapBytesAfterQueries = gc[i].Heap,
                    gcCommittedBytesAfterQueries = gc[i].Committed,
                }).ToArray();

                var busy = MedianOf(passes.Select(p => p.Busy));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {size,9:N0} {buildSeconds,8:0.0} {buildSeconds * 1e6 / size,8:0.0} {querySeconds,8:0.0} {querySeconds * 1e9 / pairs,8:0.000} {oursPerCore / 1e6,11:0.0}M {Show(faissPerCore / 1e6, "0.0"),11}M {Ratio(oursPerCore, faissPerCore),6} {busy * 100,4:0}% {Ratio(oursPerCpuSecond, faissPerCpuSecond),6} {plantedFound,4}/{planted,-4} {exactSame,4}/{exactChecked,-4} {string.Join("  ", silos.Select(s => $"{s.peakBytes / 1e6:0}/{s.expectedBytes / 1e6:0} (x{s.growthOverShareAndCache:0.00})")),34}"));
                row = new Dictionary<string, object>
                {
                    ["gallery"] = size,
                    ["queries"] = settings.Queries,
                    ["buildSeconds"] = buildSeconds,
                    ["buildMicrosecondsPerEntry"] = buildSeconds * 1e6 / size,
                    ["querySeconds"] = querySeconds,
                    ["querySecondsSamples"] = passes.Select(p => p.Seconds),
                    ["nanosecondsPerPair"] = querySeconds * 1e9 / pairs,
                    ["pairsPerSecondPerCore"] = oursPerCore,
                    ["siloCoresBusy"] = busy,
                    ["pairsPerCpuSecond"] = oursPerCpuSecond,
                    ["faissPairsPerCpuSecond"] = (object?)faissPerCpuSecond ?? "n/a",
                    ["ratioPerCpuSecond"] = faissPerCpuSecond is { } fcs ? oursPerCpuSecond / fcs : "n/a",
                    ["faissSearchSecondsSamples"] = (object?)faiss?.SearchSeconds ?? "n/a",
                    ["faissPairsPerSecondPerCore"] = (object?)faissPerCore ?? "n/a",
                    ["ratioPerCore"] = faissPerCore is { } fp ? oursPerCore / fp : "n/a",
                    ["planted"] = planted,
                    ["plantedFoundTop1"] = plantedFound,
                    ["faissPlantedFoundTop1"] = (object?)faissPlanted ?? "n/a",
                    ["exhaustiveChecked"] = exactChecked,
                    ["exhaustiveIdentical"] = exactSame,
                    ["faissSameTopK"] = (object?)faissSameTopK ?? "n/a",
                    ["proxyShareBytesPerSilo"] = proxyBytes,
                    ["tokenCacheBoundBytes"] = cacheBytes,
                    ["silos"] = silos,
                };
            }

            DeleteFolder(data);
            rows.Add(row);
        }

        if (faissMissing)
        {
            Console.WriteLine("  FAISS is missing for /usr/bin/python3, so no ratio is reported: install it with 'apt-get install python3-faiss'.");
        }

        return new Dictionary<string, object>
        {
            ["machine"] = new { cores, os = RuntimeInformation.OSDescription, runtime = Environment.Version.ToString() },
            ["date"] = DateTimeOffset.UtcNow,
            ["dim"] = ScaleVectors.Dim,
            ["silos"] = settings.Silos,
            ["partitions"] = settings.Partitions,
            ["k"] = settings.K,
            ["batch"] = settings.Batch,
            ["tokenCacheMegabytes"] = settings.TokenCacheMegabytes,
            ["faiss"] = (object?)faissInfo ?? "missing: apt-get install python3-faiss",
            ["sizes"] = rows,
        };
    }

    /// <summary>Builds the gallery of the first <paramref name="size"/> rows through the sharded router, as an audit's gallery pass does.</summary>
    private static async Task<GallerySnapshot> BuildAsync(IGrainFactory grains, string indexGrainClass, string folder, int size, CancellationToken ct)
    {
        var index = grains.GetGrain<IGalleryIndexGrain>(string.Create(CultureInfo.InvariantCulture, $"bench-scale-{size}"), indexGrainClass);
        var pass = await index.BeginPassAsync(1, ScaleVectors.Dim, Fingerprint);
        var galleryPath = ScaleVectors.GalleryPath(folder);
        var inFlight = new List<Task>();
        for (var start = 0; start < size; start += BuildChunk)
        {
            ct.ThrowIfCancellationRequested();
            var count = Math.Min(BuildChunk, size - start);
            var vectors = ScaleVectors.ReadRows(galleryPath, start, count);
            var items = new ImageRef[count];
            var embeddings = new GalleryEmbedding[count];
            for (var i = 0; i < count; i++)
            {
                var key = ScaleVectors.KeyOf(start + i);
                items[i] = new ImageRef(key, key, ScaleVectors.Dim * sizeof(float), "1");
                embeddings[i] = new GalleryEmbedding(items[i], vectors.AsSpan(i * ScaleVectors.Dim, ScaleVectors.Dim).ToArray());
            }

            // A few chunks in flight, so reading the file here overlaps the silos' work.
            if (inFlight.Count >= BuildInFlight)
            {
                await inFlight[0];
                inFlight.RemoveAt(0);
            }

            inFlight.Add(Task.Run(async () =>
            {
                var fresh = await index.FilterNewAsync(pass, items);
                if (fresh.Count != items.Length)
                {
                    throw new InvalidOperationException($"the fresh index reported {items.Length - fresh.Count} of a chunk as indexed already.");
                }

                await index.AddAsync(embeddings);
            }, ct));
        }

        await Task.WhenAll(inFlight);
        return await index.SealPassAsync(pass);
    }

    /// <summary>
    /// The first <paramref name="count"/> queries searched exhaustively in float32 (embedded indexes over chunks of the
    /// gallery, their top-k merged by the gallery ranking), against the sharded result: rows and scores equal to the bit.
    /// </summary>
    private static (int Identical, int Checked) CompareExhaustive(string folder, int size, int count, int k, int[] found, float[] scores)
    {
        if (count == 0)
        {
            return (0, 0);
        }

        var queries = ScaleVectors.ReadRows(ScaleVectors.QueriesPath(folder), 0, count);
        var best = Enumerable.Range(0, count).Select(_ => new List<(int Row, float Score)>(2 * k)).ToArray();
        for (var start = 0; start < size; start += ExhaustiveChunk)
        {
            var rows = Math.Min(ExhaustiveChunk, size - start);
            var vectors = ScaleVectors.ReadRows(ScaleVectors.GalleryPath(folder), start, rows);
            var index = new EmbeddedVectorIndex(1, ScaleVectors.Dim, rows);
            for (var i = 0; i < rows; i++)
            {
                index.Add(ScaleVectors.KeyOf(start + i), "1", vectors.AsSpan(i * ScaleVectors.Dim, ScaleVectors.Dim));
            }

            var candidates = new IndexCandidate[count * k];
            var hits = new int[count];
            index.Search(queries, count, k, candidates, hits);
            Parallel.For(0, count, q =>
            {
                var list = best[q];
                for (var c = 0; c < hits[q]; c++)
                {
                    list.Add((start + candidates[(q * k) + c].Ordinal, candidates[(q * k) + c].ProxyScore));
                }

                // Keys are zero-padded row numbers, so the ranking's tie-break by key is by row.
                list.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Row.CompareTo(b.Row));
                if (list.Count > k)
                {
                    list.RemoveRange(k, list.Count - k);
                }
            });
        }

        var identical = 0;
        for (var q = 0; q < count; q++)
        {
            var same = true;
            for (var c = 0; c < k; c++)
            {
                var (row, score) = c < best[q].Count ? best[q][c] : (-1, 0f);
                same &= found[(q * k) + c] == row && (row < 0 || BitConverter.SingleToInt32Bits(scores[(q * k) + c]) == BitConverter.SingleToInt32Bits(score));
            }

            identical += same ? 1 : 0;
        }

        return (identical, count);
    }

    private static FaissRun? RunFaiss(string script, string folder, int size, ScaleSettings settings, int threads)
    {
        var ids = Path.Combine(folder, "faiss-ids.bin");
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Some machines pin OpenBLAS to a conservative kernel through these; a baseline must run at full speed.
        start.Environment.Remove("OPENBLAS_CORETYPE");
        start.Environment.Remove("OPENBLAS_L2_SIZE");
        string[] args =
        [
            script, "--gallery", ScaleVectors.GalleryPath(folder), "--rows", size.ToString(CultureInfo.InvariantCulture),
            "--queries", ScaleVectors.QueriesPath(folder), "--dim", ScaleVectors.Dim.ToString(CultureInfo.InvariantCulture),
            "--k", settings.K.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--repeat", settings.Repeat.ToString(CultureInfo.InvariantCulture), "--ids", ids,
        ];
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"  (FAISS baseline unavailable: {stderr.Result.Trim().Split('\n').LastOrDefault()})");
                return null;
            }

            var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
            var info = new FaissInfo(result.GetProperty("faissVersion").GetString()!, result.GetProperty("threads").GetInt32());
            var seconds = result.GetProperty("searchSeconds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var cpuSeconds = result.GetProperty("searchCpuSeconds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var found = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(ids)).ToArray();
            File.Delete(ids);
            return new FaissRun(info, seconds, cpuSeconds, found);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.WriteLine($"  (FAISS baseline unavailable: /usr/bin/python3: {ex.Message}; install it with 'apt-get install python3-faiss')");
            return null;
        }
    }

    private static int[] ParseSizes(string text)
    {
        var sizes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 9_999_999 ? n : throw new CliError($"--sizes: '{t}' is not a gallery size 1..9999999."))
            .Distinct().Order().ToArray();
        return sizes.Length > 0 ? sizes : throw new CliError("--sizes lists no size.");
    }

    private static int Range(int value, string name, int min, int max) =>
        value >= min && value <= max ? value : throw new CliError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {min}..{max} (got {value})."));

    private static void DeleteFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string Show(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Ratio(double ours, double? baseline) => baseline is { } b && b > 0 ? (ours / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private sealed record FaissInfo(string Version, int Threads);

    private sealed record FaissRun(FaissInfo Info, double[] SearchSeconds, double[] SearchCpuSeconds, int[] Ids);

    /// <summary>
    /// This process's coordinator silo (the primary; it hosts the router, never a partition) and the worker silo
    /// processes. Disposing stops the workers first, then the primary; the process-exit hook kills any left behind.
    /// </summary>
    private sealed class ScaleCluster : IAsyncDisposable
    {
        private readonly IHost _coordinator;
        private readonly EventHandler _onExit;
        private int _querySequence;

        private ScaleCluster(IHost coordinator, List<ScaleSiloProcess> workers)
        {
            _coordinator = coordinator;
            Workers = workers;
            _onExit = (_, _) => workers.ForEach(w => w.KillNow());
            AppDomain.CurrentDomain.ProcessExit += _onExit;
        }

        public List<ScaleSiloProcess> Workers { get; }

        public IGrainFactory Grains => _coordinator.Services.GetRequiredService<IGrainFactory>();

        /// <summary>The coordinator's grain class of sharded indexes, as the backend names it.</summary>
        public string ShardedIndexGrainClass => _coordinator.Services.GetRequiredService<GalleryIndexBackends>().Of(GalleryBackends.Sharded).IndexGrainClass;

        public static async Task<ScaleCluster> StartAsync(ScaleSettings settings, string data, CancellationToken ct)
        {
            var clusterId = $"bench-scale-{Guid.NewGuid():N}";
            var primaryPort = FreePort();
            var coordinator = await StartCoordinatorAsync(primaryPort, clusterId, data, settings.Partitions, ct);
            var cluster = new ScaleCluster(coordinator, []);
            try
            {
                for (var i = 0; i < settings.Silos; i++)
                {
                    cluster.Workers.Add(ScaleSiloProcess.Start($"silo {i + 1}",
                    [
                        "--cluster-id", clusterId, "--silo-port", Port(FreePort()), "--gateway-port", Port(FreePort()), "--primary-port", Port(primaryPort),
                        "--data", data, "--token-cache-mb", Port(settings.TokenCacheMegabytes),
                    ]));
                }

                foreach (var worker in cluster.Workers)
                {
                    var line = await worker.ReadLineAsync(TimeSpan.FromMinutes(2), ct);
                    if (line != "ready")
                    {
                        throw new CliError($"{worker.Name} said '{line}' instead of starting.");
                    }
                }

                var directory = coordinator.Services.GetRequiredService<WorkerSiloDirectory>();
                var waited = Stopwatch.StartNew();
                while (directory.ActiveWorkers().Count < settings.Silos)
                {
                    if (waited.Elapsed > TimeSpan.FromMinutes(1))
                    {
                        throw new CliError($"only {directory.ActiveWorkers().Count} of {settings.Silos} worker silos joined the benchmark cluster within a minute.");
                    }

                    await Task.Delay(100, ct);
                }

                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }

            static string Port(int value) => value.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// The queries split evenly over the worker silos, all searching at once; returns the wall time until the last
        /// finished, how busy the silos kept the cores, and each query's top-k rows and scores.
        /// </summary>
        public async Task<(double Seconds, double Busy, int[] Rows, float[] Scores, (long Heap, long Committed)[] Gc)> QueryAsync(GallerySnapshot snapshot, string folder, ScaleSettings settings, CancellationToken ct)
        {
            var sequence = ++_querySequence;
            var slices = new List<(ScaleSiloProcess Worker, ScaleQueryRequest Request, string RequestFile)>();
            for (var i = 0; i < Workers.Count; i++)
            {
                var first = (int)((long)settings.Queries * i / Workers.Count);
                var last = (int)((long)settings.Queries * (i + 1) / Workers.Count);
                var request = new ScaleQueryRequest(snapshot.Path, snapshot.Count, snapshot.Fingerprint, [.. snapshot.Partitions!], ScaleVectors.QueriesPath(folder), first, last - first, settings.K, settings.Batch,
                    Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"results-{i}-{sequence}.bin")));
                var requestFile = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"query-{i}-{sequence}.json"));
                await File.WriteAllTextAsync(requestFile, JsonSerializer.Serialize(request), ct);
                slices.Add((Workers[i], request, requestFile));
            }

            var cpu = Workers.Select(w => w.CpuTime()).ToArray();
            var clock = Stopwatch.StartNew();
            foreach (var slice in slices)
            {
                await slice.Worker.SendAsync($"query {slice.RequestFile}");
            }

            var gc = await Task.WhenAll(slices.Select(async s =>
            {
                var answer = await s.Worker.ReadLineAsync(TimeSpan.FromHours(2), ct);
                if (!answer.StartsWith("done ", StringComparison.Ordinal))
                {
                    throw new CliError($"{s.Worker.Name}: {answer}");
                }

                // "done <seconds> <GC heap bytes> <GC committed bytes>"
                var fields = answer.Split(' ');
                return (Heap: long.Parse(fields[2], CultureInfo.InvariantCulture), Committed: long.Parse(fields[3], CultureInfo.InvariantCulture));
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            var busy = Workers.Select((w, i) => (w.CpuTime() - cpu[i]).TotalSeconds).Sum() / (seconds * Environment.ProcessorCount);

            var rows = new int[settings.Queries * settings.K];
            var scores = new float[settings.Queries * settings.K];
            foreach (var (_, request, requestFile) in slices)
            {
                var bytes = await File.ReadAllBytesAsync(request.ResultsFile, ct);
                var cells = request.Count * request.K;
                MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, cells * sizeof(int))).CopyTo(rows.AsSpan(request.First * request.K));
                MemoryMarshal.Cast<byte, float>(bytes.AsSpan(cells * sizeof(int), cells * sizeof(float))).CopyTo(scores.AsSpan(request.First * request.K));
                File.Delete(request.ResultsFile);
                File.Delete(requestFile);
            }

            return (seconds, busy, rows, scores, gc);
        }

        public async ValueTask DisposeAsync()
        {
            await Task.WhenAll(Workers.Select(w => w.DisposeAsync().AsTask()));
            AppDomain.CurrentDomain.ProcessExit -= _onExit;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _coordinator.StopAsync(timeout.Token);
            _coordinator.Dispose();
        }

        private static async Task<IHost> StartCoordinatorAsync(int siloPort, string clusterId, string data, int partitions, CancellationToken ct)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(
            [
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.DataDirectory)}", data),
                new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.Roles)}", SiloRoles.Coordinator),
                new($"{GalleryIndexOptions.SectionName}:{nameof(GalleryIndexOptions.Kind)}", GalleryBackends.Sharded),
                new($"{GalleryIndexOptions.SectionName}:{nameof(GalleryIndexOptions.Partitions)}", partitions.ToString(CultureInfo.InvariantCulture)),
            ]);
            ScaleSilo.ConfigureQuietLogging(builder.Logging);
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, FreePort(), null, clusterId, clusterId);
                silo.UseInMemoryReminderService();
                silo.AddIcdiffSilo();
            });
            var host = builder.Build();
            try
            {
                await host.StartAsync(ct);
            }
            catch
            {
                host.Dispose();
                throw;
            }

            return host;
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}

internal sealed record ScaleSettings(int[] Sizes, int Queries, int Silos, int Partitions, int K, int Batch, int TokenCacheMegabytes, int Repeat, int Warmup);
