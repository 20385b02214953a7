using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Imaging.Skia;
using Icdiff.Index.Embedded;
using Icdiff.Synthesis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Measures each stage on generated data against a baseline run in the same invocation: decode + pre-process
/// against Pillow with JPEG draft mode, the embedder against a bare ONNX Runtime loop, exact search against
/// NumPy's matrix product + partial sort (with this machine's measured FMA peak for reference), and the whole
/// embedded audit against its slowest stage. Prints medians of repeated runs and writes them as JSON.
/// </summary>
internal static class BenchCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static readonly (string Kind, int Width, int Height, int Count, bool Jpeg)[] ImageKinds =
    [
        ("png-512", 512, 512, 120, false),
        ("jpeg-1mp", 1152, 864, 80, true),
        ("jpeg-3mp", 2048, 1536, 40, true),
    ];

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the generated benchmark images.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-bench") };
        var model = new Option<string>("--model") { Description = "Model manifest, or 'builtin'.", DefaultValueFactory = _ => "builtin" };
        var repeat = new Option<int>("--repeat") { Description = "Repetitions per measurement (the median is reported).", DefaultValueFactory = _ => 3 };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: bench.json in --work)." };
        var command = new Command("bench", "Measure decode, embedding, search and the whole audit against baselines run alongside.") { work, model, repeat, output, RecallCommand.Create(), MemoryCommand.Create() };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var repeats = Math.Max(1, parse.GetValue(repeat));
            var figures = new Dictionary<string, object>
            {
                ["machine"] = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, runtime = Environment.Version.ToString(), avx2 = Vector256.IsHardwareAccelerated },
                ["date"] = DateTimeOffset.UtcNow,
            };
            await using var services = CliServices.CreateWorkerServices();
            var embedder = services.GetRequiredService<ModelCatalog>().Get(parse.GetValue(model)!);
            var files = EnsureImages(folder);

            figures["decode"] = BenchDecode(files, embedder.Manifest.Preprocess, repeats);
            var embed = BenchEmbed(embedder, parse.GetValue(model)!, repeats);
            figures["embed"] = embed;
            figures["search"] = BenchSearch(embedder.Manifest.OutputDim, repeats);
            figures["audit"] = await BenchAuditAsync(folder, embedder, parse.GetValue(model)!, embed.Ours, repeats, ct);

            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(folder, "bench.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static Dictionary<string, string[]> EnsureImages(string folder)
    {
        var result = new Dictionary<string, string[]>();
        foreach (var (kind, width, height, count, jpeg) in ImageKinds)
        {
            var directory = Path.Combine(folder, kind);
            Directory.CreateDirectory(directory);
            var files = Enumerable.Range(0, count).Select(i => Path.Combine(directory, $"{kind}-{i:D4}.{(jpeg ? "jpg" : "png")}")).ToArray();
            Parallel.ForEach(files.Where(f => !File.Exists(f)), file =>
            {
                using var bitmap = SceneGenerator.Draw(Array.IndexOf(files, file) + (width * 7), width, height);
                using var data = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
                File.WriteAllBytes(file, data.ToArray());
            });
            result[kind] = files;
        }

        return result;
    }

    private static object BenchDecode(Dictionary<string, string[]> files, PreprocessSpec spec, int repeats)
    {
        var decoder = new SkiaImageDecoder(new DecoderOptions());
        var skiaOnly = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = "skia" });
        Console.WriteLine($"Decode + pre-process to {spec.Width}x{spec.Height} ({spec.Resize}), images/s, median of {repeats}; JPEGs through {decoder.JpegBackend}:");
        Console.WriteLine($"  {"kind",-10} {"ours 1 core",12} {"Pillow 1",10} {"ratio",6}   {"ours all",10} {"Pillow all",10} {"ratio",6}   {"Skia-only 1 core",16}");
        var rows = new List<object>();
        foreach (var (kind, paths) in files)
        {
            var encoded = paths.Select(File.ReadAllBytes).ToArray();
            var single = Median(repeats, () =>
            {
                var tensor = new float[spec.TensorLength];
                var clock = Stopwatch.StartNew();
                foreach (var bytes in encoded)
                {
                    decoder.Decode(bytes, spec, tensor);
                }

                return encoded.Length / clock.Elapsed.TotalSeconds;
            });
            var skiaSingle = Median(repeats, () =>
            {
                var tensor = new float[spec.TensorLength];
                var clock = Stopwatch.StartNew();
                foreach (var bytes in encoded)
                {
                    skiaOnly.Decode(bytes, spec, tensor);
                }

                return encoded.Length / clock.Elapsed.TotalSeconds;
            });
            var all = Median(repeats, () =>
            {
                var clock = Stopwatch.StartNew();
                Parallel.ForEach(encoded, () => new float[spec.TensorLength], (bytes, _, tensor) => { decoder.Decode(bytes, spec, tensor); return tensor; }, _ => { });
                return encoded.Length / clock.Elapsed.TotalSeconds;
            });
            var pillow = RunPython(Path.Combine(ToolsFolder(), "bench", "pillow_decode.py"), ["--width", spec.Width.ToString(CultureInfo.InvariantCulture), "--height", spec.Height.ToString(CultureInfo.InvariantCulture), "--repeat", repeats.ToString(CultureInfo.InvariantCulture), .. paths]);
            double? pillowSingle = pillow?.GetProperty("singleCore").GetDouble();
            double? pillowAll = pillow?.GetProperty("allCores").GetDouble();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {kind,-10} {single,12:0} {Show(pillowSingle),10} {Ratio(single, pillowSingle),6}   {all,10:0} {Show(pillowAll),10} {Ratio(all, pillowAll),6}   {skiaSingle,16:0}"));
            rows.Add(new { kind, jpegDecoder = decoder.JpegBackend, oursSingleCore = single, oursAllCores = all, pillowSingleCore = pillowSingle, pillowAllCores = pillowAll, skiaOnlySingleCore = skiaSingle });
        }

        return rows;
    }

    private static EmbedFigures BenchEmbed(IEmbedder embedder, string model, int repeats)
    {
        const int Batch = 32;
        var manifest = embedder.Manifest;
        var random = new Random(1);
        var input = new float[Batch * manifest.Preprocess.TensorLength];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)((random.NextDouble() * 4) - 2);
        }

        var output = new float[Batch * manifest.EmbeddingLength];
        var ours = Median(repeats, () => Throughput(Batch, () => embedder.Embed(input, Batch, output)));

        var bytes = ModelCatalog.IsBuiltin(model) ? BuiltinDescriptorModel.BuildOnnx() : File.ReadAllBytes(manifest.OnnxPath);
        using var session = new InferenceSession(bytes);
        long[] shape = [Batch, 3, manifest.Preprocess.Height, manifest.Preprocess.Width];
        var bare = Median(repeats, () => Throughput(Batch, () =>
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
            using var results = session.Run(new RunOptions(), [manifest.InputName], [value], [manifest.OutputName]);
            _ = results[0].GetTensorDataAsSpan<float>()[0];
        }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Embedding ({manifest.Name}, batch {Batch}): ours {ours:0} img/s, bare ONNX Runtime loop {bare:0} img/s, ratio {ours / bare:0.00}"));
        return new EmbedFigures(manifest.Name, Batch, ours, bare, ours / bare);
    }

    private static object BenchSearch(int dim, int repeats)
    {
        const int Gallery = 20_000;
        const int Queries = 256;
        const int K = 16;
        var random = new Random(2);
        var index = new EmbeddedVectorIndex(1, dim, Gallery);
        var vector = new float[dim];
        for (var i = 0; i < Gallery; i++)
        {
            for (var j = 0; j < dim; j++)
            {
                vector[j] = (float)(random.NextDouble() - 0.5);
            }

            EmbeddingMath.NormaliseTokens(vector, 1);
            index.Add(i.ToString(CultureInfo.InvariantCulture), string.Empty, vector);
        }

        var queries = new float[Queries * dim];
        for (var i = 0; i < queries.Length; i++)
        {
            queries[i] = (float)(random.NextDouble() - 0.5);
        }

        var results = new IndexCandidate[Queries * K];
        var found = new int[Queries];
        var flops = 2.0 * Queries * Gallery * dim;
        var seconds = Median(repeats, () =>
        {
            var clock = Stopwatch.StartNew();
            index.Search(queries, Queries, K, results, found);
            return clock.Elapsed.TotalSeconds;
        });
        var ours = flops / seconds / 1e9;
        var numpy = RunPython("-c", [$"import numpy as np, time, json, statistics\ng=np.random.rand({Gallery},{dim}).astype(np.float32)-0.5\nq=np.random.rand({Queries},{dim}).astype(np.float32)-0.5\nts=[]\nfor _ in range({repeats}):\n    s=time.perf_counter(); sc=q@g.T; np.argpartition(-sc,{K},axis=1)[:,:{K}]; ts.append(time.perf_counter()-s)\nprint(json.dumps({{'seconds': statistics.median(ts)}}))"]);
        double? numpyGflops = numpy is { } n ? flops / n.GetProperty("seconds").GetDouble() / 1e9 : null;
        var peak = MeasurePeakGflops();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Exact top-{K} search, {Queries} queries x {Gallery} x {dim}: ours {ours:0.0} GFLOP/s, NumPy {Show(numpyGflops, "0.0")} GFLOP/s, ratio {Ratio(ours, numpyGflops)}; machine FMA peak (measured) {peak:0.0} GFLOP/s"));
        return new { gallery = Gallery, queries = Queries, dim, k = K, oursGflops = ours, numpyGflops, ratio = numpyGflops is { } v ? ours / v : (double?)null, machinePeakGflops = peak };
    }

    /// <summary>
    /// The whole embedded audit (grains, pipeline, gallery indexing then scanning) on a gallery of 600 and 1,200
    /// generated images, against the slowest stage measured on exactly those files: decoding on all cores, or
    /// embedding at the pipeline's batch size. Each repetition measures decoding and then the audit back to back and
    /// starts from an empty data directory, so a ratio compares two runs under the same machine load (a shared
    /// machine's speed drifts by a third between minutes). Also reported: the audit against its CPU ceiling where the
    /// stages share the cores (decode and embed time added up: 1 / (1/decode + 1/embed)), and how busy the cores were.
    /// </summary>
    private static async Task<object> BenchAuditAsync(string folder, IEmbedder embedder, string model, double embedRate, int repeats, CancellationToken ct)
    {
        var gallery = EnsureAuditImages(Path.Combine(folder, "audit-gallery"), 600, 11);
        var generated = EnsureAuditImages(Path.Combine(folder, "audit-generated"), 1200, 23);
        var images = gallery.Length + generated.Length;
        var spec = embedder.Manifest.Preprocess;
        var decoder = new SkiaImageDecoder(new DecoderOptions());
        double DecodeAllCores()
        {
            var clock = Stopwatch.StartNew();
            // Read as the pipeline reads (pooled buffers), so the stage is measured at its best, not handicapped by allocation.
            Parallel.ForEach(gallery.Concat(generated), () => new float[spec.TensorLength], (file, _, tensor) =>
            {
                using var stream = File.OpenRead(file);
                var length = (int)stream.Length;
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
                stream.ReadExactly(buffer, 0, length);
                decoder.Decode(buffer.AsSpan(0, length), spec, tensor);
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                return tensor;
            }, _ => { });
            return images / clock.Elapsed.TotalSeconds;
        }

        var request = new AuditRequest(Path.Combine(folder, "audit-gallery"), [new ModelCorpus("generated", Path.Combine(folder, "audit-generated"))], model, ReplicaCriterion.DefaultMinLevel, ReplicaCriterion.DefaultCandidates, 64);
        var samples = new List<(double Audit, double Decode, double Busy)>();
        var startup = TimeSpan.Zero;
        _ = DecodeAllCores(); // warm-up: page cache, JIT, the decoder's native library
        for (var r = 0; r < repeats; r++)
        {
            var decodeRate = DecodeAllCores();
            var data = Path.Combine(folder, "audit-data");
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }

            var clock = Stopwatch.StartNew();
            await using var silo = await EmbeddedSilo.StartAsync(data, ct);
            startup = clock.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            clock.Restart();
            await AuditRunner.RunAsync(silo.Grains, $"bench-{Guid.NewGuid():N}", request, new ProgressDisplay(TextWriter.Null, false), ct);
            var wall = clock.Elapsed;
            var busy = (Process.GetCurrentProcess().TotalProcessorTime - cpu) / (wall * Environment.ProcessorCount);
            samples.Add((images / wall.TotalSeconds, decodeRate, busy));
        }

        static double MedianOf(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted[sorted.Count / 2];
        }

        var rate = MedianOf(samples.Select(s => s.Audit));
        var decode = MedianOf(samples.Select(s => s.Decode));
        var toSlowest = MedianOf(samples.Select(s => s.Audit / Math.Min(s.Decode, embedRate)));
        var toCeiling = MedianOf(samples.Select(s => s.Audit / (1 / ((1 / s.Decode) + (1 / embedRate)))));
        var busyCores = MedianOf(samples.Select(s => s.Busy));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Embedded audit: {images} images (gallery {gallery.Length}, generated {generated.Length}) at {rate:0} img/s, median of {repeats} (silo start {startup.TotalSeconds:0.0} s not counted); cores {busyCores:P0} busy"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  slowest stage on the same files, measured just before each audit: decode all cores {decode:0} img/s, embed {embedRate:0} img/s -> audit / slowest = {toSlowest:0.00}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  decode and embed sharing these {Environment.ProcessorCount} cores can reach at most 1/(1/decode + 1/embed) -> audit / that ceiling = {toCeiling:0.00}"));
        return new
        {
            images,
            imagesPerSecond = rate,
            decodeAllCoresPerSecond = decode,
            embedPerSecond = embedRate,
            ratioToSlowestStage = toSlowest,
            ratioToSharedCoreCeiling = toCeiling,
            coresBusy = busyCores,
            siloStartSeconds = startup.TotalSeconds,
            samples = samples.Select(s => new { audit = s.Audit, decode = s.Decode, busy = s.Busy }),
        };
    }

    /// <summary>Generated scenes in the sizes and formats a gallery scrape mixes: PNG and JPEG from 512 px to 1.5 MP.</summary>
    private static string[] EnsureAuditImages(string directory, int count, int seed)
    {
        Directory.CreateDirectory(directory);
        (int W, int H, bool Jpeg)[] kinds = [(512, 512, false), (768, 512, true), (1152, 864, true), (1024, 768, false), (1408, 1056, true)];
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(directory, $"img-{i:D5}.{(kinds[i % kinds.Length].Jpeg ? "jpg" : "png")}")).ToArray();
        Parallel.For(0, count, i =>
        {
            if (File.Exists(files[i]))
            {
                return;
            }

            var (w, h, jpeg) = kinds[i % kinds.Length];
            using var bitmap = SceneGenerator.Draw((seed * 100_003) + i, w, h);
            using var data = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
            File.WriteAllBytes(files[i], data.ToArray());
        });
        return files;
    }

    private sealed record EmbedFigures(string Model, int Batch, double Ours, double BareOnnxRuntime, double Ratio);

    /// <summary>Eight independent FMA chains per core keep both FMA ports busy: the practical float32 peak.</summary>
    private static double MeasurePeakGflops()
    {
        const int Iterations = 20_000_000;
        var cores = Environment.ProcessorCount;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, cores, _ =>
        {
            var a = Vector256.Create(1f);
            var m = Vector256.Create(0.9999999f);
            Vector256<float> v0 = a, v1 = a, v2 = a, v3 = a, v4 = a, v5 = a, v6 = a, v7 = a;
            for (var i = 0; i < Iterations; i++)
            {
                v0 = Vector256.MultiplyAddEstimate(v0, m, a);
                v1 = Vector256.MultiplyAddEstimate(v1, m, a);
                v2 = Vector256.MultiplyAddEstimate(v2, m, a);
                v3 = Vector256.MultiplyAddEstimate(v3, m, a);
                v4 = Vector256.MultiplyAddEstimate(v4, m, a);
                v5 = Vector256.MultiplyAddEstimate(v5, m, a);
                v6 = Vector256.MultiplyAddEstimate(v6, m, a);
                v7 = Vector256.MultiplyAddEstimate(v7, m, a);
            }

            GC.KeepAlive(Vector256.Sum(v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7));
        });
        return 8.0 * 8 * 2 * Iterations * cores / clock.Elapsed.TotalSeconds / 1e9;
    }

    private static double Throughput(int batch, Action run)
    {
        run();
        var clock = Stopwatch.StartNew();
        var done = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            run();
            done += batch;
        }

        return done / clock.Elapsed.TotalSeconds;
    }

    private static double Median(int repeats, Func<double> measure)
    {
        var values = Enumerable.Range(0, repeats).Select(_ => measure()).Order().ToArray();
        return values[values.Length / 2];
    }

    private static JsonElement? RunPython(string script, string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Some machines pin OpenBLAS to a conservative kernel through these; a baseline must run at full speed.
        start.Environment.Remove("OPENBLAS_CORETYPE");
        start.Environment.Remove("OPENBLAS_L2_SIZE");
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEnd();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"  (baseline unavailable: {stderr.Trim().Split('\n').LastOrDefault()})");
                return null;
            }

            return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.WriteLine($"  (baseline unavailable: /usr/bin/python3: {ex.Message})");
            return null;
        }
    }

    private static string ToolsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "tools", "bench")))
            {
                return Path.Combine(dir.FullName, "tools");
            }
        }

        throw new CliError("bench needs the repository's tools/ folder (run it from a checkout).");
    }

    private static string Show(double? value, string format = "0") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Ratio(double ours, double? baseline) => baseline is { } b && b > 0 ? (ours / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
