using Icdiff.Imaging.Skia;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Icdiff.Pipeline.Tests;

/// <summary>Options registered by the adapters are checked when a host starts, with every problem of every class reported at once.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public async Task HostStart_WithThreeBadPipelineKeysAndOneBadDecoderKey_ReportsAllFour_EachNamingItsKey()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{PipelineOptions.SectionName}:EmbedBatchSize"] = "0",
            [$"{PipelineOptions.SectionName}:ChannelCapacity"] = "0",
            [$"{PipelineOptions.SectionName}:DecodeTimeout"] = "00:00:00",
            [$"{DecoderOptions.SectionName}:MaxPixels"] = "0",
        });
        builder.Services.AddSkiaImageDecoding().AddImagePipeline();
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        var failures = (error is AggregateException many ? many.InnerExceptions : [error])
            .Select(e => Assert.IsType<OptionsValidationException>(e))
            .SelectMany(e => e.Failures)
            .ToList();
        Assert.Equal(4, failures.Count);
        Assert.Single(failures, f => f.StartsWith($"{PipelineOptions.SectionName}:EmbedBatchSize ", StringComparison.Ordinal));
        Assert.Single(failures, f => f.StartsWith($"{PipelineOptions.SectionName}:ChannelCapacity ", StringComparison.Ordinal));
        Assert.Single(failures, f => f.StartsWith($"{PipelineOptions.SectionName}:DecodeTimeout ", StringComparison.Ordinal));
        Assert.Single(failures, f => f.Contains($"{DecoderOptions.SectionName}:MaxPixels", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostStart_WithDefaults_Starts()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSkiaImageDecoding().AddImagePipeline();
        using var host = builder.Build();

        await host.StartAsync(TestContext.Current.CancellationToken);

        Assert.Empty(host.Services.GetRequiredService<IOptions<PipelineOptions>>().Value.Problems());
        await host.StopAsync(TestContext.Current.CancellationToken);
    }
}
