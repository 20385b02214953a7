using System.Runtime.Intrinsics;
using Icdiff.Index.Embedded;

namespace Icdiff.Bench;

/// <summary>Exact top-k search against NumPy and FAISS, with the measured FMA peak for reference.</summary>
internal static partial class BenchCommand
{
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
}
