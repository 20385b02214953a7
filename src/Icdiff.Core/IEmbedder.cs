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
}
