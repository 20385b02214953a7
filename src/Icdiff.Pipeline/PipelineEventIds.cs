namespace Icdiff.Pipeline;

/// <summary>Event ids of this component: 3000-3099.</summary>
internal static class PipelineEventIds
{
    public const int Started = 3000;
    public const int EmbeddingFailed = 3001;
    public const int DecodeTimedOut = 3002;
    public const int ReadTimedOut = 3003;
    public const int InferenceLayout = 3004;
}
