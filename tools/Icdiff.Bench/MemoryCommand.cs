using System.Text.RegularExpressions;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Bench;

/// <summary>
/// Peak memory of whole audits as the generated corpus grows: each size is audited by a fresh `icdiff audit`
/// process against the same gallery, and its peak resident set (VmHWM) is read from its own summary line. A
/// streaming audit stays flat; one that accumulates grows with the corpus.
/// </summary>
internal static partial class MemoryCommand
{
    private const int Chunk = 20_000;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the generated corpora.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-memory") };
        var gallery = new Option<int>("--gallery") { Description = "Gallery images.", DefaultValueFactory = _ => 20_000 };
        var sizes = new Option<int[]>("--sizes") { Description = "Generated corpus sizes to audit (multiples of 20,000 are folders of 20,000).", DefaultValueFactory = _ => [20_000, 100_000], AllowMultipleArgumentsPerToken = true };
        var edge = new Option<int>("--edge") { Description = "Edge of the generated JPEGs in pixels.", DefaultValueFactory = _ => 256 };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: memory.json in --work)." };
        var command = new Command("memory", "Peak memory of audits of growing generated corpora against one gallery.") { work, gallery, sizes, edge, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(work)!);
            var galleryFolder = EnsureImages(Path.Combine(folder, "gallery"), parse.GetValue(gallery), parse.GetValue(edge), 1);
            var rows = new List<object>();
            double? first = null;
            foreach (var size in parse.GetValue(sizes)!.Order())
            {
                var generated = Path.Combine(folder, "generated");
                for (var c = 0; c * Chunk < size; c++)
                {
                    EnsureImages(Path.Combine(generated, $"part-{c:D2}"), Math.Min(Chunk, size - (c * Chunk)), parse.GetValue(edge), 1000 + c);
                }

                // Audit exactly the first `size` images: a manifest would work too, but folders keep the run plain.
                var location = size <= Chunk ? Path.Combine(generated, "part-00") : generated;
                var listed = Directory.EnumerateFiles(location, "*", SearchOption.AllDirectories).Count();
                var (peakMb, seconds) = await AuditAsync(galleryFolder, location, Path.Combine(folder, $"run-{size}"), ct);
                first ??= peakMb;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {listed,8} generated vs {parse.GetValue(gallery)} gallery: peak {peakMb,6} MB in {seconds,6:0} s; peak / first = {peakMb / first.Value:0.00}"));
                rows.Add(new { generated = listed, gallery = parse.GetValue(gallery), peakMegabytes = peakMb, seconds, ratioToFirst = peakMb / first.Value });
            }

            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(folder, "memory.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new { date = DateTimeOffset.UtcNow, rows }, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static string EnsureImages(string directory, int count, int edge, int seed)
    {
        Directory.CreateDirectory(directory);
        var clock = Stopwatch.StartNew();
        var made = 0;
        Parallel.For(0, count, i =>
        {
            var file = Path.Combine(directory, $"img-{i:D6}.jpg");
            if (File.Exists(file))
            {
                return;
            }

            using var bitmap = SceneGenerator.Draw((seed * 1_000_003) + i, edge, edge);
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
            File.WriteAllBytes(file, data.ToArray());
            Interlocked.Increment(ref made);
        });
        if (made > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Generated {made} images in {directory} ({clock.Elapsed.TotalSeconds:0} s)"));
        }

        return directory;
    }

    private static async Task<(double PeakMb, double Seconds)> AuditAsync(string gallery, string generated, string runFolder, CancellationToken ct)
    {
        if (Directory.Exists(runFolder))
        {
            Directory.Delete(runFolder, recursive: true);
        }

        // The audit measured is the product's: `icdiff`, built beside this tool (its project reference).
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(AuditRunner).Assembly.Location);

        foreach (var arg in new[] { "audit", "--gallery", gallery, "--generated", $"gen={generated}", "--out", Path.Combine(runFolder, "report"), "--data-dir", Path.Combine(runFolder, "data") })
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var text = await stdout;
        if (process.ExitCode != 0)
        {
            throw new CliError($"audit of {generated} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
        }

        var match = PeakLine().Match(text);
        if (!match.Success)
        {
            throw new CliError("the audit did not print its peak memory.");
        }

        return (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), clock.Elapsed.TotalSeconds);
    }

    [GeneratedRegex(@"Peak memory: \d+ MB now, (\d+) MB at most")]
    private static partial Regex PeakLine();
}
