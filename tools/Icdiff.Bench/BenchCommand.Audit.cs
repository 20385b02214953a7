using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Imaging.Skia;
using Icdiff.Pipeline;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Bench;

/// <summary>The whole embedded audit in each stage layout against its slowest stage.</summary>
internal static partial class BenchCommand
{
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
}
