using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Icdiff.Core;

/// <summary>
/// The traces and metrics the audit emits, under one name (<see cref="Name"/>) for both the activity source and the
/// meter, which hosts subscribe to with OpenTelemetry (<c>AddSource("Icdiff")</c>, <c>AddMeter("Icdiff")</c>).
/// Instruments are static, as in Npgsql and the runtime's own libraries: they cost nothing until someone listens.
/// </summary>
public static class IcdiffTelemetry
{
    public const string Name = "Icdiff";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly ConcurrentDictionary<object, Func<(int Decode, int Embed, int Search)>> QueueProbes = new();

    /// <summary>Images through each pipeline stage (<c>stage</c> = decoded, embedded, searched).</summary>
    public static readonly Counter<long> Images = Meter.CreateCounter<long>("icdiff.pipeline.images", "{image}", "Images through each stage of the worker pipeline");

    /// <summary>Images skipped, by <c>reason</c> (a skip reason code).</summary>
    public static readonly Counter<long> Skipped = Meter.CreateCounter<long>("icdiff.pipeline.skipped", "{image}", "Images skipped by the worker pipeline, by reason");

    public static readonly Histogram<double> DecodeDuration = Meter.CreateHistogram<double>("icdiff.pipeline.decode.duration", "ms", "Time to read and decode one image into the model's input tensor");

    public static readonly Histogram<double> EmbedBatchDuration = Meter.CreateHistogram<double>("icdiff.pipeline.embed.duration", "ms", "Time of one embedding batch");

    /// <summary>Items recorded per model: <c>model</c>, and <c>level</c> 0..5 or <c>skipped</c>.</summary>
    public static readonly Counter<long> Recorded = Meter.CreateCounter<long>("icdiff.audit.items", "{image}", "Generated images recorded by the aggregates, by model and replication level");

    public static readonly Counter<long> DispatchRetries = Meter.CreateCounter<long>("icdiff.audit.dispatch.retries", "{call}", "Worker calls retried after a failure");

    static IcdiffTelemetry()
    {
        Meter.CreateObservableGauge("icdiff.pipeline.queue.depth", ObserveQueues, "{image}", "Images waiting in each stage's queue");
    }

    /// <summary>Reports a pipeline's queue depths while it lives; dispose the result when the pipeline stops.</summary>
    public static IDisposable TrackQueues(Func<(int Decode, int Embed, int Search)> probe)
    {
        var key = new object();
        QueueProbes[key] = probe;
        return new Untrack(key);
    }

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        int decode = 0, embed = 0, search = 0;
        foreach (var probe in QueueProbes.Values)
        {
            var (d, e, s) = probe();
            decode += d;
            embed += e;
            search += s;
        }

        yield return new Measurement<int>(decode, new KeyValuePair<string, object?>("stage", "decode"));
        yield return new Measurement<int>(embed, new KeyValuePair<string, object?>("stage", "embed"));
        yield return new Measurement<int>(search, new KeyValuePair<string, object?>("stage", "search"));
    }

    private sealed class Untrack(object key) : IDisposable
    {
        public void Dispose() => QueueProbes.TryRemove(key, out _);
    }
}
