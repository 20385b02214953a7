using Icdiff.Core;

namespace Icdiff.Embedding.Onnx;

/// <summary>How ONNX Runtime sessions are created. Bound from <see cref="SectionName"/>.</summary>
public sealed class OnnxOptions
{
    public const string SectionName = "Icdiff:Onnx";

    /// <summary>"cpu" or "cuda". CUDA falls back to CPU, with a warning, where the CUDA provider cannot load.</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    public int CudaDeviceId { get; set; }

    /// <summary>
    /// Threads inside one inference; 0 lets ONNX Runtime use every core, one inference at a time. N runs each
    /// inference on N threads and lets cores / N of them run at once (the pipeline admits a further one only while
    /// the queue before inference backs up; see <c>Icdiff:Pipeline:InferenceWorkers</c>).
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Inferences one session runs well at once: one where ONNX Runtime spreads each over every core (the default)
    /// or on CUDA; cores / threads per inference where the threads per inference are set. Measured on two cores with
    /// the built-in model (bench audit, three repetitions each, the machine's speed drifting by a third): one
    /// inference over both cores 0.92 of the shared-core ceiling, one-thread inferences side by side 0.85, one
    /// one-thread inference at a time 0.84; within the noise, so the default stays as it was.
    /// </summary>
    public int ConcurrentBatches(bool cuda) => cuda || IntraOpThreads == 0 ? 1 : Math.Max(1, Environment.ProcessorCount / IntraOpThreads);

    /// <summary>
    /// Whether ONNX Runtime's threads spin waiting for the next inference. Off by default: in an audit the same
    /// cores decode images between inferences, and spinning threads take their time.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem (see <see cref="Problems"/>).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    /// <summary>Every problem of these options, each naming its key.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            problems.Add($"{SectionName}:ExecutionProvider must be 'cpu' or 'cuda' (got '{ExecutionProvider}').");
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
