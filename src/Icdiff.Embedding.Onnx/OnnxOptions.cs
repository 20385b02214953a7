namespace Icdiff.Embedding.Onnx;

/// <summary>How ONNX Runtime sessions are created. Bound from <see cref="SectionName"/>.</summary>
public sealed class OnnxOptions
{
    public const string SectionName = "Icdiff:Onnx";

    /// <summary>"cpu" or "cuda". CUDA falls back to CPU, with a warning, where the CUDA provider cannot load.</summary>
    public string ExecutionProvider { get; set; } = "cpu";

    public int CudaDeviceId { get; set; }

    /// <summary>Threads inside one inference; 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's threads spin waiting for the next inference. Off by default: in an audit the same
    /// cores decode images between inferences, and spinning threads take their time.
    /// </summary>
    public bool AllowSpinning { get; set; }

    public void Validate()
    {
        if (ExecutionProvider is not ("cpu" or "cuda"))
        {
            throw new ArgumentException($"{SectionName}:ExecutionProvider must be 'cpu' or 'cuda' (got '{ExecutionProvider}').");
        }

        if (IntraOpThreads is < 0 or > 1024)
        {
            throw new ArgumentException($"{SectionName}:IntraOpThreads must be 0..1024 (got {IntraOpThreads}).");
        }

        if (CudaDeviceId < 0)
        {
            throw new ArgumentException($"{SectionName}:CudaDeviceId must be 0 or more (got {CudaDeviceId}).");
        }
    }
}
