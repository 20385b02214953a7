namespace Icdiff.Pipeline;

/// <summary>
/// Admits one model's inference batches. With a fixed width (the pipeline's <see cref="PipelineOptions.InferenceWorkers"/>
/// set) it is a plain limit. Chosen by the pipeline, it adapts to the model's cost: the first batch is always admitted,
/// a further one only while <c>backlog</c> images wait in the queue before inference, up to what the embedder runs well
/// at once. A light model (the built-in descriptor: under a millisecond an image beside ten of decoding) then runs one
/// inference at a time and leaves the cores to the decoders; a heavy one (a ViT on CPU) backs the queue up and takes
/// every core it may.
/// </summary>
public sealed class InferenceGate(int width, bool adaptive, Func<int> waiting, int backlog)
{
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _parked = new();
    private int _active;

    public int Width => width;

    public bool Adaptive => adaptive;

    /// <summary>Waits until this batch may run. Re-checks the queue at least every <paramref name="recheck"/> while parked.</summary>
    public async Task EnterAsync(TimeSpan recheck, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource parked;
            lock (_lock)
            {
                if (_active == 0 || (_active < width && (!adaptive || waiting() >= backlog)))
                {
                    _active++;
                    return;
                }

                parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _parked.Enqueue(parked);
            }

            // Woken when a batch ends; the timeout lets a growing queue admit another batch before that.
            await Task.WhenAny(parked.Task, Task.Delay(recheck, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Exit()
    {
        lock (_lock)
        {
            _active--;
            while (_parked.TryDequeue(out var next))
            {
                next.TrySetResult();
            }
        }
    }
}
