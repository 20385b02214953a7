namespace Icdiff.Embedding.Onnx;

/// <summary>Event ids of this component: 2000-2099.</summary>
internal static class EmbeddingEventIds
{
    public const int UsingCpu = 2000;
    public const int UsingCuda = 2001;
    public const int CudaUnavailable = 2002;
    public const int ModelLoaded = 2003;
    public const int LayoutChosen = 2004;
}
