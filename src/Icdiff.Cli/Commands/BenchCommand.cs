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
using Icdiff.Pipeline;
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

    private const int DefaultAuditImages = 1800;

    private static readonly string[] AuditLayoutNames = ["default", "every-core", "per-core", "shared-1", "split"];

    private static readonly (string Kind, int Width, int Height, int Count, bool Jpeg)[] ImageKinds =
    [
        ("png-512", 512, 512, 120, false),
        ("jpeg-1mp", 1152, 864, 80, true),
        ("jpeg-3mp", 2048, 1536, 40, true),
    ];

    public static Command Create()
    {
        var (work, model, repeat, output) = CommonOptions("bench.json");
        var command = new Command("bench", "Measure decode, embedding, search and the whole audit against baselines run alongside.") { work, model, repeat, output, CreateAudit(), CreateDecode(), CreateSearch(), VitSizedModel.Create(), RecallCommand.Create(), MemoryCommand.Create(), ScaleOutCommand.Create(), ScaleCommand.Create(), ScaleSilo.Create() };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var repeats = Math.Max(1, parse.GetValue(repeat));
            var figures = MachineFigures();
            await using var services = CliServices.CreateWorkerServices();
            var embedder = services.GetRequiredService<ModelCatalog>().Get(parse.GetValue(model)!);
            var files = EnsureImages(folder);

            figures["decode"] = BenchDecode(files, embedder.Manifest.Preprocess, repeats);
            figures["embed"] = BenchEmbed(embedder, parse.GetValue(model)!, services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OnnxOptions>>().Value, repeats);
            figures["search"] = BenchSearch(DefaultSearchShapes(embedder.Manifest.OutputDim), repeats, folder);
            figures["audit"] = await BenchAuditAsync(folder, parse.GetValue(model)!, repeats, ct);
            await WriteFiguresAsync(figures, parse.GetValue(output) ?? Path.Combine(folder, "bench.json"), ct);
            return 0;
        }));
        return command;
    }

    /// <summary><c>bench audit</c>: the end-to-end measurement alone, for iterating on the pipeline.</summary>
    private static Command CreateAudit()
    {
        var (work, model, repeat, output) = CommonOptions("bench-audit.json");
        repeat.DefaultValueFactory = _ => 5;
        var images = new Option<int>("--images") { Description = "Images per audit, a third of them the gallery (fewer for a heavy model on CPU).", DefaultValueFactory = _ => DefaultAuditImages };
        var layouts = new Option<string?>("--layouts") { Description = $"Comma-separated layouts to measure (default: all of {string.Join(", ", AuditLayoutNames)})." };
        var command = new Command("audit", "Measure only the whole embedded audit against its slowest stage, in each stage layout (default, per-core, shared-1, split).") { work, model, repeat, output, images, layouts };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var count = parse.GetValue(images);
            if (count is < 6 or > 100_000)
            {
                throw new CliError($"--images must be 6..100000 (got {count}).");
            }

            var chosen = parse.GetValue(layouts) is { } text ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : AuditLayoutNames;
            if (chosen.FirstOrDefault(l => !AuditLayoutNames.Contains(l, StringComparer.Ordinal)) is { } unknown)
            {
                throw new CliError($"--layouts: unknown layout '{unknown}' (known: {string.Join(", ", AuditLayoutNames)}).");
            }

            var figures = MachineFigures();
            figures["model"] = parse.GetValue(model)!;
            figures["audit"] = await BenchAuditAsync(folder, parse.GetValue(model)!, Math.Max(1, parse.GetValue(repeat)), ct, count, chosen);
            await WriteFiguresAsync(figures, parse.GetValue(output) ?? Path.Combine(folder, "bench-audit.json"), ct);
            return 0;
        }));
        return command;
    }

    /// <summary><c>bench decode</c>: decode and pre-processing alone against Pillow and a bare libjpeg-turbo decode.</summary>
    private static Command CreateDecode()
    {
        var (work, model, repeat, output) = CommonOptions("bench-decode.json");
        var command = new Command("decode", "Measure only decode + pre-processing per image kind against Pillow and, for JPEGs, bare libjpeg-turbo at the same DCT scale.") { work, model, repeat, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var figures = MachineFigures();
            // Only the model's pre-processing matters here: read its manifest, do not load the model.
            var preprocess = ModelCatalog.ReadManifest(parse.GetValue(model)!).Preprocess;
            figures["model"] = parse.GetValue(model)!;
            figures["decode"] = BenchDecode(EnsureImages(folder), preprocess, Math.Max(1, parse.GetValue(repeat)));
            await WriteFiguresAsync(figures, parse.GetValue(output) ?? Path.Combine(folder, "bench-decode.json"), ct);
            return 0;
        }));
        return command;
    }

    /// <summary><c>bench search</c>: exact search alone against NumPy and FAISS, on the default shapes or those given.</summary>
    private static Command CreateSearch()
    {
        var (work, model, repeat, output) = CommonOptions("bench-search.json");
        var shapes = new Option<string?>("--shapes") { Description = "Comma-separated QUERIESxGALLERYxDIM shapes (default: 256 x 20,000 x the model's width, and 1,024 x 200,000 x 768)." };
        var command = new Command("search", "Measure only exact top-k search against NumPy (naming its BLAS) and FAISS IndexFlatIP on the same vectors.") { work, model, repeat, output, shapes };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var chosen = parse.GetValue(shapes) is { } text ? ParseShapes(text) : DefaultSearchShapes(ModelDim(parse.GetValue(model)!));
            var figures = MachineFigures();
            figures["search"] = BenchSearch(chosen, Math.Max(1, parse.GetValue(repeat)), folder);
            await WriteFiguresAsync(figures, parse.GetValue(output) ?? Path.Combine(folder, "bench-search.json"), ct);
            return 0;
        }));
        return command;
    }

    private static int ModelDim(string model)
    {
        using var services = CliServices.CreateWorkerServices();
        return services.GetRequiredService<ModelCatalog>().Get(model).Manifest.OutputDim;
    }

    internal static (int Queries, int Gallery, int Dim)[] ParseShapes(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(shape =>
    {
        var parts = shape.Split('x');
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 10_000_000))
        {
            throw new CliError($"--shapes: '{shape}' is not QUERIESxGALLERYxDIM (three positive whole numbers, e.g. 256x20000x704).");
        }

        var (q, g, d) = (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
        if ((long)g * d > 1L << 31)
        {
            throw new CliError($"--shapes: '{shape}' needs {(long)g * d * 4 >> 20} MiB of gallery vectors; at most {(1L << 33) >> 20} MiB.");
        }

        return (q, g, d);
    })];

    private static (Option<string> Work, Option<string> Model, Option<int> Repeat, Option<string?> Output) CommonOptions(string defaultOutput) =>
    (
        new Option<string>("--work") { Description = "Folder for the generated benchmark images.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-bench") },
        new Option<string>("--model") { Description = "Model manifest, or 'builtin'.", DefaultValueFactory = _ => "builtin" },
        new Option<int>("--repeat") { Description = "Repetitions per measurement (the median is reported).", DefaultValueFactory = _ => 3 },
        new Option<string?>("--out") { Description = $"JSON file for the figures (default: {defaultOutput} in --work)." }
    );

    private static Dictionary<string, object> MachineFigures() => new()
    {
        ["machine"] = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, runtime = Environment.Version.ToString(), avx2 = Vector256.IsHardwareAccelerated },
        ["date"] = DateTimeOffset.UtcNow,
    };

    private static async Task WriteFiguresAsync(Dictionary<string, object> figures, string path, CancellationToken ct)
    {
        var outPath = Path.GetFullPath(path);
        await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
        Console.WriteLine($"Figures written to {outPath}");
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

    /// <summary>
    /// Each repetition measures ours and then Pillow (a warm worker process) on the same files, one core and then all
    /// cores, so every ratio compares two figures taken seconds apart; the ratios reported are the medians of those
    /// per-repetition ratios (a shared machine's speed drifts by a third between minutes, which sequential medians
    /// would fold into the ratio).
    /// </summary>
    private static object BenchDecode(Dictionary<string, string[]> files, PreprocessSpec spec, int repeats)
    {
        var decoder = new SkiaImageDecoder(new DecoderOptions());
        var skiaOnly = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = "skia" });
        using var pillow = PillowBaseline.TryStart(Path.Combine(ToolsFolder(), "bench", "pillow_decode.py"), spec);
        Console.WriteLine($"Decode + pre-process to {spec.Width}x{spec.Height} ({spec.Resize}), images/s, median of {repeats}, ratios are medians of paired runs; JPEGs through {decoder.JpegBackend}:");
        Console.WriteLine($"  {"kind",-10} {"ours 1 core",12} {"Pillow 1",10} {"ratio",6}   {"ours all",10} {"Pillow all",10} {"ratio",6}   {"Skia-only 1 core",16}   {"bare turbo 1",14} {"ratio",6}");
        var rows = new List<object>();
        foreach (var (kind, paths) in files)
        {
            var encoded = paths.Select(File.ReadAllBytes).ToArray();
            var jpeg = ImageKinds.First(k => k.Kind == kind).Jpeg;
            double SingleCore(SkiaImageDecoder d)
            {
                var tensor = new float[spec.TensorLength];
                var clock = Stopwatch.StartNew();
                foreach (var bytes in encoded)
                {
                    d.Decode(bytes, spec, tensor);
                }

                return encoded.Length / clock.Elapsed.TotalSeconds;
            }

            double AllCores()
            {
                var clock = Stopwatch.StartNew();
                Parallel.ForEach(encoded, () => new float[spec.TensorLength], (bytes, _, tensor) => { decoder.Decode(bytes, spec, tensor); return tensor; }, _ => { });
                return encoded.Length / clock.Elapsed.TotalSeconds;
            }

            // The floor for JPEGs: libjpeg-turbo alone at the DCT scale our decoder picks, nothing after it (null
            // where JPEGs do not go through libjpeg-turbo, or for PNGs).
            var pixels = Array.Empty<byte>();
            double? BareTurbo()
            {
                if (!jpeg || !decoder.DecodeJpegPixelsOnly(encoded[0], spec, ref pixels))
                {
                    return null;
                }

                var clock = Stopwatch.StartNew();
                foreach (var bytes in encoded)
                {
                    decoder.DecodeJpegPixelsOnly(bytes, spec, ref pixels);
                }

                return encoded.Length / clock.Elapsed.TotalSeconds;
            }

            _ = SingleCore(decoder); // warm-up: JIT, the decoder's native library, its handle pool
            _ = AllCores();
            _ = BareTurbo();
            var samples = new List<(double Single, double? PillowSingle, double All, double? PillowAll, double SkiaSingle, double? BareSingle)>();
            for (var r = 0; r < repeats; r++)
            {
                var single = SingleCore(decoder);
                var bare = BareTurbo();
                var pillowSingle = pillow?.Measure("single", paths);
                var all = AllCores();
                var pillowAll = pillow?.Measure("all", paths);
                samples.Add((single, pillowSingle, all, pillowAll, SingleCore(skiaOnly), bare));
            }

            var row = new
            {
                kind,
                jpegDecoder = decoder.JpegBackend,
                oursSingleCore = MedianOf(samples.Select(s => s.Single)),
                oursAllCores = MedianOf(samples.Select(s => s.All)),
                pillowSingleCore = MedianOrNull(samples.Select(s => s.PillowSingle)),
                pillowAllCores = MedianOrNull(samples.Select(s => s.PillowAll)),
                ratioSingleCore = MedianOrNull(samples.Select(s => s.Single / s.PillowSingle)),
                ratioAllCores = MedianOrNull(samples.Select(s => s.All / s.PillowAll)),
                skiaOnlySingleCore = MedianOf(samples.Select(s => s.SkiaSingle)),
                bareLibjpegTurboSingleCore = MedianOrNull(samples.Select(s => s.BareSingle)),
                ratioToBareLibjpegTurbo = MedianOrNull(samples.Select(s => s.Single / s.BareSingle)),
                samples = samples.Select(s => new { oursSingle = s.Single, pillowSingle = s.PillowSingle, oursAll = s.All, pillowAll = s.PillowAll, bareLibjpegTurboSingle = s.BareSingle }),
            };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {kind,-10} {row.oursSingleCore,12:0} {Show(row.pillowSingleCore),10} {Show(row.ratioSingleCore, "0.00"),6}   {row.oursAllCores,10:0} {Show(row.pillowAllCores),10} {Show(row.ratioAllCores, "0.00"),6}   {row.skiaOnlySingleCore,16:0}   {Show(row.bareLibjpegTurboSingleCore),14} {Show(row.ratioToBareLibjpegTurbo, "0.00"),6}"));
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// Ours and the bare loop alternate, two seconds each, and the ratio is the median of the pairs' ratios. The bare
    /// session gets the embedder's own session settings (threads, no spinning), so the ratio is the embedder's
    /// overhead, not a difference of configuration.
    /// </summary>
    private static EmbedFigures BenchEmbed(IEmbedder embedder, string model, OnnxOptions onnxOptions, int repeats)
    {
        const int Batch = 32;
        var manifest = embedder.Manifest;
        var input = RandomInput(Batch * manifest.Preprocess.TensorLength);

        var output = new float[Batch * manifest.EmbeddingLength];
        var bytes = ModelCatalog.IsBuiltin(model) ? BuiltinDescriptorModel.BuildOnnx() : File.ReadAllBytes(manifest.OnnxPath);
        var threads = embedder is OnnxEmbedder onnx ? onnx.IntraOpThreads : onnxOptions.IntraOpThreads ?? 0;
        using var sessionOptions = OnnxEmbedder.CreateSessionOptions(onnxOptions, threads, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, manifest.Name);
        using var session = new InferenceSession(bytes, sessionOptions);
        long[] shape = [Batch, 3, manifest.Preprocess.Height, manifest.Preprocess.Width];
        var pairs = new List<(double Ours, double Bare)>();
        for (var r = 0; r < repeats; r++)
        {
            var ours = Throughput(Batch, () => embedder.Embed(input, Batch, output));
            var bare = Throughput(Batch, () =>
            {
                using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
                using var results = session.Run(new RunOptions(), [manifest.InputName], [value], [manifest.OutputName]);
                _ = results[0].GetTensorDataAsSpan<float>()[0];
            });
            pairs.Add((ours, bare));
        }

        var figures = new EmbedFigures(manifest.Name, Batch, MedianOf(pairs.Select(p => p.Ours)), MedianOf(pairs.Select(p => p.Bare)), MedianOf(pairs.Select(p => p.Ours / p.Bare)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Embedding ({manifest.Name}, batch {Batch}): ours {figures.Ours:0} img/s, bare ONNX Runtime loop {figures.BareOnnxRuntime:0} img/s, ratio {figures.Ratio:0.00} (median of {repeats} paired runs)"));
        return figures;
    }

    /// <summary>The shapes <c>bench</c> measures exact search on: the model's proxy width, and a gallery ten times larger at 768.</summary>
    internal static (int Queries, int Gallery, int Dim)[] DefaultSearchShapes(int modelDim) => [(256, 20_000, modelDim), (1_024, 200_000, 768)];

    /// <summary>
    /// Exact top-16 search on each shape, ours against NumPy (matrix product + partial sort, on whichever BLAS numpy
    /// is linked to: reported, and with the reference BLAS given no ratio, for it is no baseline) and FAISS
    /// <c>IndexFlatIP</c>, all on the same vectors and the same number of threads (this machine's cores), so the
    /// ratios are per core. Agreement: the share of our top-k ids each baseline also returns.
    /// </summary>
    internal static object BenchSearch((int Queries, int Gallery, int Dim)[] shapes, int repeats, string work)
    {
        const int K = 16;
        var peak = MeasurePeakGflops();
        var threads = Environment.ProcessorCount;
        var figures = new List<object>();
        foreach (var (queryCount, galleryCount, dim) in shapes)
        {
            var folder = Directory.CreateDirectory(Path.Combine(work, "search", string.Create(CultureInfo.InvariantCulture, $"{queryCount}x{galleryCount}x{dim}"))).FullName;
            var random = new Random(2);
            var index = new EmbeddedVectorIndex(1, dim, galleryCount);
            var vector = new float[dim];
            using (var gallery = new BinaryWriter(File.Create(Path.Combine(folder, "gallery.f32"))))
            {
                for (var i = 0; i < galleryCount; i++)
                {
                    for (var j = 0; j < dim; j++)
                    {
                        vector[j] = (float)(random.NextDouble() - 0.5);
                    }

                    EmbeddingMath.NormaliseTokens(vector, 1);
                    index.Add(i.ToString(CultureInfo.InvariantCulture), string.Empty, vector);
                    foreach (var value in vector)
                    {
                        gallery.Write(value);
                    }
                }
            }

            var queries = new float[queryCount * dim];
            for (var i = 0; i < queries.Length; i++)
            {
                queries[i] = (float)(random.NextDouble() - 0.5);
            }

            File.WriteAllBytes(Path.Combine(folder, "queries.f32"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
            var results = new IndexCandidate[queryCount * K];
            var found = new int[queryCount];
            var flops = 2.0 * queryCount * galleryCount * dim;
            index.Search(queries, queryCount, K, results, found);
            var seconds = MedianOf(Enumerable.Range(0, repeats).Select(_ =>
            {
                var clock = Stopwatch.StartNew();
                index.Search(queries, queryCount, K, results, found);
                return clock.Elapsed.TotalSeconds;
            }));
            var ours = flops / seconds / 1e9;
            var ourIds = Enumerable.Range(0, queryCount).Select(q => results.AsSpan(q * K, found[q]).ToArray().Select(c => int.Parse(index.KeyOf(c.Ordinal), CultureInfo.InvariantCulture)).ToHashSet()).ToArray();

            var environment = new Dictionary<string, string> { ["OPENBLAS_NUM_THREADS"] = $"{threads}", ["OMP_NUM_THREADS"] = $"{threads}" };
            var run = RunPython(Path.Combine(ToolsFolder(), "bench", "search_baselines.py"),
                ["--gallery", Path.Combine(folder, "gallery.f32"), "--queries", Path.Combine(folder, "queries.f32"), "--dim", $"{dim}", "--k", $"{K}", "--threads", $"{threads}", "--repeat", $"{repeats}"], environment);
            var numpy = SearchBaseline.FromNumpy(run, flops, Path.Combine(folder, "ids-numpy.i32"), ourIds, K);
            var faiss = SearchBaseline.FromFaiss(run, flops, Path.Combine(folder, "ids-faiss.i32"), ourIds, K);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Exact top-{K} search, {queryCount} queries x {galleryCount} x {dim}, {threads} threads each: ours {ours:0.0} GFLOP/s; {numpy.Describe(ours)}; {faiss.Describe(ours)}; machine FMA peak (measured) {peak:0.0} GFLOP/s"));
            figures.Add(new
            {
                queries = queryCount, gallery = galleryCount, dim, k = K, threads, oursGflops = ours, oursSeconds = seconds,
                numpy = numpy.Json(ours), faiss = faiss.Json(ours), machinePeakGflops = peak,
            });
            Directory.Delete(folder, recursive: true);
        }

        return figures;
    }

    /// <summary>One baseline's figures from search_baselines.py: its name and version, GFLOP/s, agreement, or why it has none.</summary>
    private sealed record SearchBaseline(string Name, string? Provenance, double? Gflops, double? Agreement, string? NoRatio)
    {
        public static SearchBaseline FromNumpy(JsonElement? run, double flops, string idsFile, HashSet<int>[] ours, int k)
        {
            if (run is not { } r || !r.TryGetProperty("numpy", out var numpy))
            {
                return new("NumPy", null, null, null, "search_baselines.py failed (its error is printed above)");
            }

            var blas = numpy.GetProperty("blas");
            var kind = blas.GetProperty("kind").GetString();
            var library = blas.GetProperty("library").ValueKind == JsonValueKind.String ? blas.GetProperty("library").GetString() : "no BLAS library mapped";
            var version = blas.GetProperty("version").ValueKind == JsonValueKind.String ? " " + blas.GetProperty("version").GetString() : string.Empty;
            var provenance = $"NumPy {r.GetProperty("numpyVersion").GetString()} on {kind} BLAS ({library}{version})";
            var noRatio = kind == "openblas" || kind == "mkl" || kind == "blis"
                ? null
                : kind == "reference" ? "the reference BLAS is no baseline (apt-get install libopenblas0-pthread, or run tools/bench/install-baselines.sh)" : "its BLAS could not be identified";
            return new("NumPy", provenance, flops / numpy.GetProperty("median").GetDouble() / 1e9, AgreementOf(idsFile, ours, k), noRatio);
        }

        public static SearchBaseline FromFaiss(JsonElement? run, double flops, string idsFile, HashSet<int>[] ours, int k)
        {
            if (run is not { } r || !r.TryGetProperty("faiss", out var faiss))
            {
                return new("FAISS IndexFlatIP", null, null, null, "the baseline script did not run");
            }

            if (faiss.TryGetProperty("unavailable", out var why))
            {
                return new("FAISS IndexFlatIP", null, null, null, why.GetString());
            }

            // FAISS multiplies through the same process's BLAS: on the reference BLAS it is no baseline either.
            var blas = r.TryGetProperty("numpy", out var numpy) ? numpy.GetProperty("blas").GetProperty("kind").GetString() : "unknown";
            var noRatio = blas is "openblas" or "mkl" or "blis" ? null : $"FAISS ran on the {blas} BLAS, which is no baseline (run tools/bench/install-baselines.sh)";
            return new("FAISS IndexFlatIP", $"FAISS {faiss.GetProperty("version").GetString()} IndexFlatIP on {blas} BLAS, {faiss.GetProperty("threads").GetInt32()} threads", flops / faiss.GetProperty("median").GetDouble() / 1e9, AgreementOf(idsFile, ours, k), noRatio);
        }

        public string Describe(double ours) => Gflops is not { } g
            ? $"{Name}: none ({NoRatio})"
            : NoRatio is not null
                ? string.Create(CultureInfo.InvariantCulture, $"{Provenance} {g:0.0} GFLOP/s, no ratio: {NoRatio}")
                : string.Create(CultureInfo.InvariantCulture, $"{Provenance} {g:0.0} GFLOP/s, ratio {ours / g:0.00}, top-k agreement {Agreement:P1}");

        public object Json(double ours) => new { provenance = Provenance, gflops = Gflops, ratio = Gflops is { } g && NoRatio is null ? ours / g : (double?)null, agreement = Agreement, noRatio = NoRatio };

        /// <summary>The share of our top-k ids the baseline also returned, over all queries (ties at the k-th score may differ).</summary>
        private static double? AgreementOf(string idsFile, HashSet<int>[] ours, int k)
        {
            if (!File.Exists(idsFile))
            {
                return null;
            }

            var bytes = File.ReadAllBytes(idsFile);
            var ids = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes);
            long shared = 0;
            long total = 0;
            for (var q = 0; q < ours.Length && (q + 1) * k <= ids.Length; q++)
            {
                foreach (var id in ids.Slice(q * k, k))
                {
                    shared += ours[q].Contains(id) ? 1 : 0;
                }

                total += ours[q].Count;
            }

            return total == 0 ? null : shared / (double)total;
        }
    }

    /// <summary>
    /// The whole embedded audit (grains, pipeline, gallery indexing then scanning) on a gallery of 600 and 1,200
    /// generated images, against its slowest stage measured on exactly those files in the same stage layout. Layouts:
    /// <c>shared</c> (the defaults: decoders and inference threads on every core) and, where there are two cores or
    /// more, <c>shared-1</c> (inference on one thread beside a decoder per core) and <c>split</c> (decoders on all
    /// cores but one, inference on one thread: each stage on its own cores, the shape of a GPU silo whose decoders
    /// have the CPU to themselves). Each repetition measures decoding, embedding and then the audit back to back and
    /// starts from an empty data directory, so a ratio compares figures taken under the same machine load (a shared
    /// machine's speed drifts by a third between minutes). Where stages share the cores the audit is also set against
    /// their ceiling: each image costs cores/decode core-seconds to decode and threads/embed to embed, so at most
    /// 1 / (1/decode + threads/(cores x embed)) images/s.
    /// </summary>
    private static async Task<object> BenchAuditAsync(string folder, string model, int repeats, CancellationToken ct, int auditImages = DefaultAuditImages, IReadOnlyCollection<string>? only = null)
    {
        // The default set keeps its folder names (earlier runs' images are reused); other sizes get their own folders.
        var suffix = auditImages == DefaultAuditImages ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"-{auditImages}");
        var galleryFolder = Path.Combine(folder, $"audit-gallery{suffix}");
        var generatedFolder = Path.Combine(folder, $"audit-generated{suffix}");
        var gallery = EnsureAuditImages(galleryFolder, auditImages / 3, 11);
        var generated = EnsureAuditImages(generatedFolder, auditImages - (auditImages / 3), 23);
        var images = gallery.Length + generated.Length;
        var files = gallery.Concat(generated).ToArray();
        var request = new AuditRequest(galleryFolder, [new ModelCorpus("generated", generatedFolder)], model, ReplicaCriterion.DefaultMinLevel, ReplicaCriterion.DefaultCandidates, 64);
        var cores = Environment.ProcessorCount;
        // "default" is what a silo does unconfigured; the others are the layouts one would otherwise set by hand.
        List<(string Name, string Description, int? DecodeWorkers, int? InferenceThreads, int? InferenceWorkers)> layouts = [("default", $"the defaults: {cores} decoders, inference threads chosen from the model's cost", null, null, null), ("every-core", $"{cores} decoders, one inference at a time over every core (Icdiff__Onnx__IntraOpThreads=0)", null, 0, null)];
        if (cores > 1)
        {
            layouts.Add(("per-core", $"{cores} decoders, inferences on 1 thread each, up to {cores} at once as the queue backs up (Icdiff__Onnx__IntraOpThreads=1)", null, 1, null));
            layouts.Add(("shared-1", $"{cores} decoders, one inference at a time on 1 thread", cores, 1, 1));
            layouts.Add(("split", $"{cores - 1} decoder(s), one inference at a time on 1 thread: each stage on its own core(s)", cores - 1, 1, 1));
        }

        if (only is not null)
        {
            layouts.RemoveAll(l => !only.Contains(l.Name));
        }

        var decoder = new SkiaImageDecoder(new DecoderOptions());
        var results = new List<object>();
        Console.WriteLine($"Embedded audit: {images} images (gallery {gallery.Length}, generated {generated.Length}), median of {repeats}; each repetition measures decode, embed and the audit back to back:");
        foreach (var (name, description, decodeSetting, threadSetting, workerSetting) in layouts)
        {
            Dictionary<string, string?> overrides = [];
            if (decodeSetting is { } d)
            {
                overrides[$"{PipelineOptions.SectionName}:{nameof(PipelineOptions.DecodeWorkers)}"] = d.ToString(CultureInfo.InvariantCulture);
            }

            if (threadSetting is { } t)
            {
                overrides[$"{OnnxOptions.SectionName}:{nameof(OnnxOptions.IntraOpThreads)}"] = t.ToString(CultureInfo.InvariantCulture);
            }

            if (workerSetting is { } w)
            {
                overrides[$"{PipelineOptions.SectionName}:{nameof(PipelineOptions.InferenceWorkers)}"] = w.ToString(CultureInfo.InvariantCulture);
            }

            await using var services = CliServices.CreateWorkerServices(overrides);
            var embedder = services.GetRequiredService<ModelCatalog>().Get(model);
            var pipelineOptions = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PipelineOptions>>().Value;
            var onnxOptions = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OnnxOptions>>().Value;
            var batch = pipelineOptions.EmbedBatchSize;
            // The layout as the silo will run it, whether chosen or set.
            var decodeWorkers = pipelineOptions.EffectiveDecodeWorkers;
            var chosenThreads = embedder is OnnxEmbedder onnx ? onnx.IntraOpThreads : onnxOptions.IntraOpThreads ?? 0;
            var inferenceThreads = chosenThreads > 0 ? chosenThreads : cores;
            var inferenceWorkers = pipelineOptions.InferenceWorkersFor(embedder);
            var chosen = string.Create(CultureInfo.InvariantCulture, $"{decodeWorkers} decoder(s), up to {inferenceWorkers} inference(s) at once{(pipelineOptions.InferenceWorkers == 0 && inferenceWorkers > 1 ? " (a further one while the queue backs up)" : string.Empty)} on {inferenceThreads} thread(s) each");
            var spec = embedder.Manifest.Preprocess;
            var input = RandomInput(batch * spec.TensorLength);

            var output = new float[batch * embedder.Manifest.EmbeddingLength];
            double Decode()
            {
                var clock = Stopwatch.StartNew();
                // Read as the pipeline reads (pooled buffers), so the stage is measured at its best, not handicapped by allocation.
                Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = decodeWorkers }, () => new float[spec.TensorLength], (file, _, tensor) =>
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

            double Embed() => Throughput(batch, () => embedder.Embed(input, batch, output), TimeSpan.FromSeconds(1));

            _ = Decode(); // warm-up: page cache, JIT, the decoder's native library
            var samples = new List<(double Audit, double Decode, double Embed, double Busy, double GcPauseMs, double AllocatedMb)>();
            var startup = TimeSpan.Zero;
            var modelLoad = TimeSpan.Zero;
            for (var r = 0; r < repeats; r++)
            {
                var decodeRate = Decode();
                var embedRate = Embed();
                var data = Path.Combine(folder, "audit-data");
                if (Directory.Exists(data))
                {
                    Directory.Delete(data, recursive: true);
                }

                var clock = Stopwatch.StartNew();
                await using var silo = await EmbeddedSilo.StartAsync(data, ct, overrides: overrides);
                startup = clock.Elapsed;
                // The silo loads the model once for its lifetime (session creation is seconds for a ViT-B-sized
                // model); it is reported, not counted, as the steady-state audit is what the stages bound.
                clock.Restart();
                _ = silo.Services.GetRequiredService<IEmbedderProvider>().Get(model);
                modelLoad = clock.Elapsed;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var paused = GC.GetTotalPauseDuration();
                var allocated = GC.GetTotalAllocatedBytes();
                clock.Restart();
                await AuditRunner.RunAsync(silo.Grains, $"bench-{Guid.NewGuid():N}", request, new ProgressDisplay(TextWriter.Null, false), ct);
                var wall = clock.Elapsed;
                var busy = (Process.GetCurrentProcess().TotalProcessorTime - cpu) / (wall * cores);
                samples.Add((images / wall.TotalSeconds, decodeRate, embedRate, busy, (GC.GetTotalPauseDuration() - paused).TotalMilliseconds, (GC.GetTotalAllocatedBytes() - allocated) / 1e6));
            }

            var rate = MedianOf(samples.Select(s => s.Audit));
            var decode = MedianOf(samples.Select(s => s.Decode));
            var embed = MedianOf(samples.Select(s => s.Embed));
            var toSlowest = MedianOf(samples.Select(s => s.Audit / Math.Min(s.Decode, s.Embed)));
            // Core-seconds per image: cores/decode for decoding on every core, threads/embed for inference on that many
            // threads (the embed rate is one inference at a time; inferences side by side each take their threads).
            var embedThreads = (double)Math.Min(inferenceThreads, cores);
            var sharesCores = decodeWorkers == cores;
            var toSharedCeiling = MedianOf(samples.Select(s => s.Audit / (1 / ((1 / s.Decode) + (embedThreads / (cores * s.Embed))))));
            var busyCores = MedianOf(samples.Select(s => s.Busy));
            var gcPause = MedianOf(samples.Select(s => s.GcPauseMs));
            var allocatedMb = MedianOf(samples.Select(s => s.AllocatedMb));
            var probed = (embedder as OnnxEmbedder)?.ProbedCoreMilliseconds is { } ms ? string.Create(CultureInfo.InvariantCulture, $" (one image cost {ms:0.00} core-ms on every core)") : string.Empty;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: {description} -> {chosen}{probed}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    audit {rate:0} img/s (silo start {startup.TotalSeconds:0.0} s and model load {modelLoad.TotalSeconds:0.0} s not counted), cores {busyCores * 100:0}% busy, GC pauses {gcPause:0} ms, {allocatedMb:0} MB allocated; decode ({decodeWorkers} worker(s)) {decode:0} img/s, embed {embed:0} img/s -> audit / slowest stage = {toSlowest:0.00}"));
            if (sharesCores)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    stages sharing the cores can reach at most 1/(1/decode + threads/(cores x embed)) -> audit / that ceiling = {toSharedCeiling:0.00}"));
            }

            results.Add(new
            {
                layout = name,
                description,
                chosen,
                decodeWorkers,
                inferenceThreads,
                inferenceWorkers,
                probedCoreMillisecondsPerImage = (embedder as OnnxEmbedder)?.ProbedCoreMilliseconds,
                images,
                imagesPerSecond = rate,
                decodePerSecond = decode,
                embedPerSecond = embed,
                ratioToSlowestStage = toSlowest,
                ratioToSharedCoreCeiling = sharesCores ? toSharedCeiling : (double?)null,
                coresBusy = busyCores,
                gcPauseMilliseconds = gcPause,
                allocatedMegabytes = allocatedMb,
                siloStartSeconds = startup.TotalSeconds,
                modelLoadSeconds = modelLoad.TotalSeconds,
                samples = samples.Select(s => new { audit = s.Audit, decode = s.Decode, embed = s.Embed, busy = s.Busy, gcPauseMs = s.GcPauseMs, allocatedMb = s.AllocatedMb }),
            });
        }

        return results;
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

    private static double Throughput(int batch, Action run, TimeSpan? duration = null)
    {
        run();
        var clock = Stopwatch.StartNew();
        var done = 0;
        while (clock.Elapsed < (duration ?? TimeSpan.FromSeconds(2)))
        {
            run();
            done += batch;
        }

        return done / clock.Elapsed.TotalSeconds;
    }

    /// <summary>A model input of normalised-pixel-like values in [-2, 2), the same in every call.</summary>
    private static float[] RandomInput(int length)
    {
        var random = new Random(1);
        var input = new float[length];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return input;
    }

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static double? MedianOrNull(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? null : MedianOf(present);
    }

    private static JsonElement? RunPython(string script, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

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

    internal static string ToolsFolder()
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
