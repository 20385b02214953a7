namespace Icdiff.Core;

public enum ResizeMode
{
    /// <summary>Resize straight to width x height, aspect ratio not kept (PDF-Embedding's pre-processing).</summary>
    Squash,

    /// <summary>Resize the short edge to a size, then crop the centre to width x height (SSCD, CLIP).</summary>
    ShortEdgeCenterCrop,
}
