using Icdiff.Core;

namespace Icdiff.Pipeline;

/// <summary>Sizes of the worker pipeline. Bound from <see cref="SectionName"/>; zero means "choose from the core count".</summary>
public sealed class PipelineOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Pipeline";

    /// <summary>Parallel read+decode workers; 0 = one per core.</summary>
    public int DecodeWorkers { get; set; }

    /// <summary>
    /// Inference batches run side by side; 0 = as many as the model's embedder runs well at once
    /// (<see cref="IEmbedder.ConcurrentBatches"/>: one per core for a CPU session on one thread per inference, one
    /// for a session spread over every core), at most one per core. A value here wins over the embedder's.
    /// </summary>
    public int InferenceWorkers { get; set; }

    /// <summary>Images per inference call.</summary>
    public int EmbedBatchSize { get; set; } = 32;

    /// <summary>A partial micro-batch is flushed after this long without new images.</summary>
    public int FlushMilliseconds { get; set; } = 20;

    /// <summary>Capacity of each channel between stages; full channels push back on the stage before.</summary>
    public int ChannelCapacity { get; set; } = 256;

    /// <summary>Encoded files larger than this are skipped without being read.</summary>
    public long MaxEncodedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Time one image may spend decoding before it is skipped as <c>TimedOut</c>. A native decode cannot be stopped:
    /// its worker is replaced at once and the abandoned decode's buffers go back to their pools when it ends.
    /// </summary>
    public TimeSpan DecodeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time one image's read may take before it is skipped as <c>TimedOut</c>: a read that never returns (a hung network
    /// mount, a stalled store) must not hold a worker and its shard forever. Longer than the blob store's own retries.
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public int EffectiveDecodeWorkers => DecodeWorkers > 0 ? DecodeWorkers : Environment.ProcessorCount;

    /// <summary>Inference loops the pipeline starts: the setting, else one per core (each embedder then caps its own share).</summary>
    public int InferenceLoops => InferenceWorkers > 0 ? InferenceWorkers : Environment.ProcessorCount;

    /// <summary>Batches of <paramref name="embedder"/> run at once: the setting, else what the embedder says it runs well, within the loops.</summary>
    public int InferenceWorkersFor(IEmbedder embedder) => InferenceWorkers > 0 ? InferenceWorkers : Math.Clamp(embedder.ConcurrentBatches, 1, InferenceLoops);

    /// <summary>Throws naming every out-of-range key at once (one per line).</summary>
    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    /// <summary>One message per key whose value is out of range, naming the key.</summary>
    public IEnumerable<string> Problems()
    {
        static string? Check(bool ok, string key, object value, string rule) => ok ? null : $"{SectionName}:{key} {rule} (got {value}).";

        string?[] all =
        [
            Check(DecodeWorkers is >= 0 and <= 1024, nameof(DecodeWorkers), DecodeWorkers, "must be 0..1024"),
            Check(InferenceWorkers is >= 0 and <= 1024, nameof(InferenceWorkers), InferenceWorkers, "must be 0..1024"),
            Check(EmbedBatchSize is >= 1 and <= 4096, nameof(EmbedBatchSize), EmbedBatchSize, "must be 1..4096"),
            Check(FlushMilliseconds is >= 1 and <= 60_000, nameof(FlushMilliseconds), FlushMilliseconds, "must be 1..60000"),
            Check(ChannelCapacity is >= 1 and <= 1_000_000, nameof(ChannelCapacity), ChannelCapacity, "must be 1..1000000"),
            Check(MaxEncodedBytes >= 1, nameof(MaxEncodedBytes), MaxEncodedBytes, "must be positive"),
            Check(DecodeTimeout > TimeSpan.Zero && DecodeTimeout <= TimeSpan.FromHours(1), nameof(DecodeTimeout), DecodeTimeout, "must be more than 0 and at most 1 hour"),
            Check(ReadTimeout > TimeSpan.Zero && ReadTimeout <= TimeSpan.FromHours(1), nameof(ReadTimeout), ReadTimeout, "must be more than 0 and at most 1 hour"),
        ];
        return all.OfType<string>();
    }
}
