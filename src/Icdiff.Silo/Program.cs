using Icdiff.Corpora.AzureBlob;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;
using Icdiff.Embedding.Onnx;
using Icdiff.Grains;
using Icdiff.Imaging.Skia;
using Icdiff.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

// A cluster silo: configuration from environment variables (Icdiff__Cluster__Redis, Icdiff__Silo__DataDirectory, ...).
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
var cluster = builder.Configuration.GetSection(IcdiffClusterOptions.SectionName).Get<IcdiffClusterOptions>() ?? new IcdiffClusterOptions();
try
{
    cluster.Validate();
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"icdiff-silo: error: {ex.Message}");
    return 2;
}

var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis!);
builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
builder.Services.AddSingleton<IRunStore>(sp => new RedisRunStore(redis, $"icdiff:{cluster.ServiceId}"));
builder.Services.AddSkiaImageDecoding().AddOnnxEmbedding().AddManifestCorpora().AddAzureBlobCorpora().AddFileSystemCorpora();
builder.UseOrleans(silo =>
{
    silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
    {
        o.ClusterId = cluster.ClusterId;
        o.ServiceId = cluster.ServiceId;
    });
    silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis!));
    silo.ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
    silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
    silo.AddAuditGrains();
});

await builder.Build().RunAsync();
return 0;
