using Icdiff.Core;

namespace Icdiff.Grains;

internal static class EmbedderLoading
{
    /// <summary>
    /// The first use of a model in a process reads its ONNX file and builds the inference session: seconds of CPU
    /// for a ViT-B-sized model. That runs on the thread pool, not in the grain's turn, so the silo's scheduler keeps
    /// serving other grains meanwhile; later calls find the loaded embedder and return at once.
    /// </summary>
    public static Task<IEmbedder> GetOffTurnAsync(this IEmbedderProvider embedders, string manifestPath) =>
        Task.Run(() => embedders.Get(manifestPath));
}
