namespace Icdiff.Core;

/// <summary>Gives the process-wide embedder of a model manifest path ("builtin" for the built-in model).</summary>
public interface IEmbedderProvider
{
    IEmbedder Get(string manifestPath);
}
