using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Icdiff.Core;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Icdiff.Embedding.Onnx;

/// <summary>
/// One ONNX Runtime session for one model. Inputs and outputs are bound to the caller's buffers, so a batch
/// costs no tensor copies; tokens are L2-normalised right after inference (see <see cref="EmbeddingMath"/>).
/// </summary>
public sealed partial class OnnxEmbedder : IEmbedder
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly bool _halfInput;
    private readonly bool _halfOutput;

    // Inference calls in flight, and whether Dispose has begun: the native session must outlive every Run on it. A host
    // stopping mid-scan (SIGTERM of a worker, a test cluster torn down) disposes the catalog while pipeline threads
    // may still be inside Run; freeing the session under them crashes the process.
    private readonly Lock _gate = new();
    private int _inFlight;
    private bool _disposing;

    public OnnxEmbedder(ModelManifest manifest, byte[] modelBytes, OnnxOptions options, ILogger logger)
    {
        Manifest = manifest;
        Fingerprint = ComputeFingerprint(manifest, modelBytes);
        var threads = options.IntraOpThreads ?? 0;
        _session = Load(manifest, modelBytes, options, threads, logger, out var cuda);

        if (!_session.InputMetadata.ContainsKey(manifest.InputName))
        {
            _session.Dispose();
            throw new ModelManifestException($"model '{manifest.Name}': the manifest's input.name '{manifest.InputName}' is not an input of the ONNX graph (inputs: {string.Join(", ", _session.InputMetadata.Keys)}).");
        }

        if (!_session.OutputMetadata.ContainsKey(manifest.OutputName))
        {
            _session.Dispose();
            throw new ModelManifestException($"model '{manifest.Name}': the manifest's output.name '{manifest.OutputName}' is not an output of the ONNX graph (outputs: {string.Join(", ", _session.OutputMetadata.Keys)}).");
        }

        _inputNames = [manifest.InputName];
        _outputNames = [manifest.OutputName];
        // Half-precision models (common for GPU deployment) take and give float16; the pipeline stays in float32.
        _halfInput = _session.InputMetadata[manifest.InputName].ElementDataType == TensorElementType.Float16;
        _halfOutput = _session.OutputMetadata[manifest.OutputName].ElementDataType == TensorElementType.Float16;

        if (!cuda && options.IntraOpThreads is null && options.LightModelMilliseconds > 0 && Environment.ProcessorCount > 1)
        {
            var cost = ProbeCoreMillisecondsPerImage();
            ProbedCoreMilliseconds = cost;
            if (cost < options.LightModelMilliseconds)
            {
                // Light: the session is cheap to create again, now with one thread per inference.
                _session.Dispose();
                threads = 1;
                _session = Load(manifest, modelBytes, options, threads, logger, out _);
            }

            Log.LayoutChosen(logger, manifest.Name, cost ?? double.NaN, options.LightModelMilliseconds, threads == 1 ? "one thread per inference, side by side as the queue backs up" : "every core per inference");
        }

        IntraOpThreads = threads;
        ConcurrentBatches = OnnxOptions.ConcurrentBatchesFor(threads, cuda);
        if (!cuda)
        {
            var how = options.IntraOpThreads is not null
                ? (threads == 0 ? "0 = ONNX Runtime spreads each over every core" : "as set")
                : ProbedCoreMilliseconds is null && (options.LightModelMilliseconds == 0 || Environment.ProcessorCount == 1) ? "every core: nothing to choose (one core, or LightModelMilliseconds 0)" : "chosen from the model's cost";
            Log.UsingCpu(logger, manifest.Name, threads, ConcurrentBatches, how);
        }
    }

    private static InferenceSession Load(ModelManifest manifest, byte[] modelBytes, OnnxOptions options, int threads, ILogger logger, out bool cuda)
    {
        using var sessionOptions = CreateSessionOptions(options, threads, logger, manifest.Name, out cuda);
        try
        {
            return new InferenceSession(modelBytes, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelManifestException($"model '{manifest.Name}' ({manifest.OnnxPath}) cannot be loaded by ONNX Runtime: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Core-milliseconds one image costs on the session as loaded (every core): the best of a few single-image
    /// inferences after a warm-up, times the cores. Null where the model fails on the probe (the first real batch
    /// then reports why, as it would without a probe).
    /// </summary>
    private double? ProbeCoreMillisecondsPerImage()
    {
        var input = new float[Manifest.Preprocess.TensorLength];
        var random = new Random(1);
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (random.NextSingle() * 4) - 2;
        }

        var output = new float[Manifest.EmbeddingLength];
        try
        {
            Embed(input, 1, output); // the first run plans and allocates
            var best = double.MaxValue;
            var started = Stopwatch.GetTimestamp();
            for (var run = 0; run < 5 && (run < 2 || Stopwatch.GetElapsedTime(started) < TimeSpan.FromMilliseconds(50)); run++)
            {
                var at = Stopwatch.GetTimestamp();
                Embed(input, 1, output);
                best = Math.Min(best, Stopwatch.GetElapsedTime(at).TotalMilliseconds);
            }

            return best * Environment.ProcessorCount;
        }
        catch (Exception ex) when (ex is InvalidOperationException or OnnxRuntimeException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>What one image cost on every core when the layout was chosen (core-milliseconds); null where it was set.</summary>
    public double? ProbedCoreMilliseconds { get; }

    /// <summary>Threads inside one inference as this embedder runs them (0 = every core), chosen or as set.</summary>
    public int IntraOpThreads { get; }

    public ModelManifest Manifest { get; }

    public string Fingerprint { get; }

    public int ConcurrentBatches { get; }

    public void Embed(Memory<float> inputs, int count, Memory<float> outputs)
    {
        var p = Manifest.Preprocess;
        var inputLength = count * p.TensorLength;
        var outputLength = count * Manifest.EmbeddingLength;
        if (inputs.Length < inputLength || outputs.Length < outputLength)
        {
            throw new ArgumentException($"batch of {count} needs {inputLength} input and {outputLength} output floats.");
        }

        long[] outputShape = Manifest.OutputTokens == 1
            ? [count, Manifest.OutputDim]
            : [count, Manifest.OutputTokens, Manifest.OutputDim];
        long[] inputShape = [count, 3, p.Height, p.Width];
        var halfInput = _halfInput ? ToHalf(inputs.Span[..inputLength]) : null;
        var halfOutput = _halfOutput ? new Float16[outputLength] : null;
        using var input = halfInput is null
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs[..inputLength], inputShape)
            : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, halfInput.AsMemory(), inputShape);
        using var output = halfOutput is null
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, outputs[..outputLength], outputShape)
            : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, halfOutput.AsMemory(), outputShape);
        using var runOptions = new RunOptions();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposing, this);
            _inFlight++;
        }

        try
        {
            _session.Run(runOptions, _inputNames, [input], _outputNames, [output]);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidOperationException(
                $"model '{Manifest.Name}' failed on a batch of {count}; does its output really have shape [{string.Join(", ", outputShape)}] as the manifest says? {ex.Message}",
                ex);
        }
        finally
        {
            lock (_gate)
            {
                _inFlight--;
            }
        }

        if (halfOutput is not null)
        {
            var target = outputs.Span;
            for (var i = 0; i < halfOutput.Length; i++)
            {
                target[i] = halfOutput[i].ToFloat();
            }
        }

        var span = outputs.Span;
        for (var i = 0; i < count; i++)
        {
            EmbeddingMath.NormaliseTokens(span.Slice(i * Manifest.EmbeddingLength, Manifest.EmbeddingLength), Manifest.OutputTokens);
        }
    }

    /// <summary>
    /// Refuses new batches, waits (up to 30 s) for those in flight, then frees the session. If a batch is still running
    /// after that, the session is left to the process's end rather than freed under it.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposing)
            {
                return;
            }

            _disposing = true;
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            lock (_gate)
            {
                if (_inFlight == 0)
                {
                    break;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                return;
            }

            Thread.Sleep(10);
        }

        _session.Dispose();
    }

    private static Float16[] ToHalf(ReadOnlySpan<float> values)
    {
        var half = new Float16[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            half[i] = (Float16)values[i];
        }

        return half;
    }

    /// <summary>
    /// The session settings of every embedder (threads, spinning, execution provider). Public so that a benchmark's
    /// bare ONNX Runtime loop runs under the same settings and measures only the embedder's own overhead.
    /// </summary>
    public static SessionOptions CreateSessionOptions(OnnxOptions options, int threads, ILogger logger, string modelName) => CreateSessionOptions(options, threads, logger, modelName, out _);

    /// <summary>The session settings, and whether the CUDA provider was added (<paramref name="cuda"/>).</summary>
    public static SessionOptions CreateSessionOptions(OnnxOptions options, int threads, ILogger logger, string modelName, out bool cuda)
    {
        cuda = false;
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        if (options.ExecutionProvider == "cuda")
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
                cuda = true;
                Log.UsingCuda(logger, modelName, options.CudaDeviceId, OnnxOptions.ConcurrentBatchesFor(threads, cuda: true));
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
            {
                Log.CudaUnavailable(logger, modelName, ex.Message);
            }
        }

        sessionOptions.IntraOpNumThreads = threads;
        return sessionOptions;
    }

    private static string ComputeFingerprint(ModelManifest manifest, byte[] modelBytes)
    {
        // Thresholds are left out on purpose: re-calibrating a model must not invalidate its gallery index.
        var p = manifest.Preprocess;
        var preprocess = FormattableString.Invariant(
            $"{p.Width}x{p.Height}|{p.Resize}|{p.ShortEdge}|{string.Join(',', p.Mean)}|{string.Join(',', p.Std)}|{manifest.InputName}|{manifest.OutputName}|{manifest.OutputTokens}x{manifest.OutputDim}");
        // Decode switches change the tensors, so they change the fingerprint (and the gallery index); at their
        // defaults they add nothing, so indexes built before the switches existed stay valid.
        preprocess += (p.FullJpegDecode ? "|full-jpeg" : string.Empty) + (p.ExifRotation ? string.Empty : "|no-exif-rotation");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(modelBytes);
        sha.AppendData(Encoding.UTF8.GetBytes(preprocess));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EmbeddingEventIds.UsingCpu, Level = LogLevel.Information, Message = "Model {Model}: ONNX Runtime CPU execution provider, {Threads} thread(s) per inference ({How}), up to {Concurrent} inferences at once")]
        public static partial void UsingCpu(ILogger logger, string model, int threads, int concurrent, string how);

        [LoggerMessage(EventId = EmbeddingEventIds.LayoutChosen, Level = LogLevel.Information, Message = "Model {Model}: one image costs {Cost:0.00} core-ms on every core (light below {Threshold} core-ms): {Choice}")]
        public static partial void LayoutChosen(ILogger logger, string model, double cost, double threshold, string choice);

        [LoggerMessage(EventId = EmbeddingEventIds.UsingCuda, Level = LogLevel.Information, Message = "Model {Model}: ONNX Runtime CUDA execution provider on device {Device}, up to {Concurrent} inferences at once")]
        public static partial void UsingCuda(ILogger logger, string model, int device, int concurrent);

        [LoggerMessage(EventId = EmbeddingEventIds.CudaUnavailable, Level = LogLevel.Warning, Message = "Model {Model}: CUDA was requested but this ONNX Runtime build cannot load its CUDA provider ({Reason}); falling back to CPU. Build with -p:IcdiffOnnxGpu=true for GPU images.")]
        public static partial void CudaUnavailable(ILogger logger, string model, string reason);
    }
}
