using Icdiff.Imaging.Skia;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Bench;

/// <summary>Decode + pre-processing per image kind against Pillow (draft mode) and bare libjpeg-turbo.</summary>
internal static partial class BenchCommand
{
    private static readonly (string Kind, int Width, int Height, int Count, bool Jpeg)[] ImageKinds =
    [
        ("png-512", 512, 512, 120, false),
        ("jpeg-1mp", 1152, 864, 80, true),
        ("jpeg-3mp", 2048, 1536, 40, true),
    ];

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
}
