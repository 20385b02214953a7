using Icdiff.Core;

namespace Icdiff.Embedding.Onnx;

/// <summary>How ONNX Runtime sessions are created. Bound from <see cref="SectionName"/>.</summary>
public sealed class OnnxOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Onnx";

    /// <summary>"cpu" or "cuda". CUDA falls back to CPU, with a warning, where the CUDA provider cannot load.</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    public int CudaDeviceId { get; set; }

    /// <summary>
    /// Threads inside one inference. Unset (the default): chosen per model from its measured cost when it loads (see
    /// <see cref="LightModelMilliseconds"/>). 0: ONNX Runtime spreads each inference over every core, one at a time.
    /// N: each inference on N threads, cores / N of them at once (the pipeline admits a further one only while the
    /// queue before inference backs up; see <c>Icdiff:Pipeline:InferenceWorkers</c>).
    /// </summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// With <see cref="IntraOpThreads"/> unset, a model whose inference costs less than this many core-milliseconds
    /// per image (timed on every core when it loads) runs each inference on one thread, side by side as the queue
    /// backs up; a costlier one spreads each inference over every core. A light model's inference is a chain of
    /// small operators, and waking every core for each of them costs more than it gains while the same cores decode;
    /// a heavy one's large matrix products use every core well. Measured on two cores (docs/benchmarks.md): the
    /// built-in model (0.4 core-ms) 0.77-0.84 of the shared-core ceiling on every core, 0.89 on one thread; a
    /// ViT-B/16-sized model (390 core-ms) 0.97 on every core. A decode costs 2-5 core-ms, hence the default. 0 turns
    /// the choice off (every core).
    /// </summary>
    public double LightModelMilliseconds { get; set; } = 4;

    /// <summary>Inferences one session runs well at once with <paramref name="threads"/> per inference (0 = every core).</summary>
    public static int ConcurrentBatchesFor(int threads, bool cuda) => cuda || threads == 0 ? 1 : Math.Max(1, Environment.ProcessorCount / threads);

    /// <summary>
    /// Whether ONNX Runtime's threads spin waiting for the next inference. Off by default: in an audit the same
    /// cores decode images between inferences, and spinning threads take their time.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            problems.Add($"{SectionName}:ExecutionProvider must be 'cpu' or 'cuda' (got '{ExecutionProvider}').");
        }

        if (LightModelMilliseconds is < 0 or > 100_000 || double.IsNaN(LightModelMilliseconds))
        {
            problems.Add($"{SectionName}:LightModelMilliseconds must be 0..100000 (got {LightModelMilliseconds}).");
        }

        if (IntraOpThreads is < 0 or > 1024)
        {
            problems.Add($"{SectionName}:IntraOpThreads must be 0..1024 (got {IntraOpThreads}).");
        }

        if (CudaDeviceId < 0)
        {
            problems.Add($"{SectionName}:CudaDeviceId must be 0 or more (got {CudaDeviceId}).");
        }

        return problems;
    }
}
