using Icdiff.Embedding.Onnx;
using Icdiff.Imaging.Skia;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Icdiff.Pipeline.Tests;

/// <summary>The real adapters these tests run the pipeline on, composed as a host composes them (over an empty configuration).</summary>
internal static class PipelineServices
{
    /// <summary>The Skia decoder and the ONNX embedding (the built-in model among them), with logging; callers add the rest.</summary>
    public static IServiceCollection DecodingAndEmbedding() => new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
        .AddLogging()
        .AddSkiaImageDecoding()
        .AddOnnxEmbedding();
}
