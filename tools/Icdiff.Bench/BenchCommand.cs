using System.Runtime.Intrinsics;
using Icdiff.Embedding.Onnx;

namespace Icdiff.Bench;

/// <summary>
/// Measures each stage on generated data against a baseline run in the same invocation: decode + pre-process
/// against Pillow with JPEG draft mode, the embedder against a bare ONNX Runtime loop, exact search against
/// NumPy's matrix product + partial sort (with this machine's measured FMA peak for reference), and the whole
/// embedded audit against its slowest stage. Prints medians of repeated runs and writes them as JSON.
/// </summary>
internal static partial class BenchCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private const int DefaultAuditImages = 1800;

    private static readonly string[] AuditLayoutNames = ["default", "every-core", "per-core", "shared-1", "split"];

    /// <summary><c>icdiff-bench</c>: alone, every stage; its subcommands, one stage or one question each.</summary>
    public static RootCommand CreateRoot()
    {
        var (work, model, repeat, output) = CommonOptions("bench.json");
        var command = new RootCommand("icdiff-bench: measure decode, embedding, search and the whole audit against baselines run alongside (maintainers' tools; the product is icdiff).")
        {
            work, model, repeat, output, CreateAudit(), CreateDecode(), CreateSearch(), VitSizedModel.Create(), RecallCommand.Create(), MemoryCommand.Create(),
            ScaleOutCommand.Create(), ScaleCommand.Create(), ScaleSilo.Create(), CalibrateBuiltinCommand.Create(),
        };
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
}
