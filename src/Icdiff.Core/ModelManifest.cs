namespace Icdiff.Core;

/// <summary>
/// Everything the pipeline needs to know about a detection model besides its weights: where the ONNX file is,
/// how to pre-process, what the output looks like and how two outputs become a replication level.
/// </summary>
public sealed record ModelManifest(
    string Name,
    string OnnxPath,
    string InputName,
    PreprocessSpec Preprocess,
    string OutputName,
    int OutputTokens,
    int OutputDim,
    ScoringRule Scoring,
    string? Notes)
{
    /// <summary>Floats in one image's embedding (all tokens).</summary>
    public int EmbeddingLength => OutputTokens * OutputDim;
}
