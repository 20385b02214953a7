namespace Icdiff.Core;

/// <summary>Runs a detection model on a batch of pre-processed images. One instance per model per process.</summary>
public interface IEmbedder : IDisposable
{
    ModelManifest Manifest { get; }

    /// <summary>A fingerprint of the weights and pre-processing: embeddings are comparable only between equal fingerprints.</summary>
    string Fingerprint { get; }

    /// <summary>
    /// Embeds <paramref name="count"/> images laid out consecutively in <paramref name="inputs"/> and writes
    /// their embeddings (tokens L2-normalised) to <paramref name="outputs"/>.
    /// </summary>
    void Embed(Memory<float> inputs, int count, Memory<float> outputs);

    /// <summary>
    /// How many <see cref="Embed"/> calls this embedder runs well at once: the pipeline's inference stage runs up to
    /// this many batches side by side (unless its own setting says otherwise). A CPU session that runs each inference
    /// on one thread profits from one call per core; a session whose inference already uses every core, from one.
    /// </summary>
    int ConcurrentBatches => 1;
}
