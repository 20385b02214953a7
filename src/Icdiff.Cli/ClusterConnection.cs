using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Icdiff.Cli;

/// <summary>An Orleans client joined to a running cluster through its Redis membership table.</summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private static readonly TimeSpan CoordinatorWait = TimeSpan.FromSeconds(30);

    /// <summary>How long joining may take: a membership table that lists no live gateway would otherwise be waited on for ever.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);
    private readonly IHost _host;

    private ClusterConnection(IHost host)
    {
        _host = host;
    }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(ClusterTarget target, CancellationToken cancellationToken)
    {
        var (redis, clusterId, serviceId) = target;
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(redis);
        }
        catch (ArgumentException ex)
        {
            throw new CliError("--cluster is not a Redis connection string (host:port[,options]).", ex);
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        // A failed start is reported once, as one line naming the cause (below); the host's own log of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.UseOrleansClient(client =>
        {
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.UseRedisClustering(o => o.ConfigurationOptions = options);
            // The client learns which silo hosts which grains from its gateway's manifest, refreshed once a minute by
            // default: a client that joined through a worker-only silo would wait that long to see the coordinators.
            client.Configure<Orleans.Configuration.TypeManagementOptions>(o => o.TypeMapRefreshInterval = TimeSpan.FromSeconds(1));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).WaitAsync(ConnectTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new CliError($"no silo of the cluster '{clusterId}' answered within {ConnectTimeout.TotalSeconds:0} s: the membership table in Redis lists no live gateway (is the cluster running? after a Redis restart without its data the silos list themselves again within seconds).", ex);
        }
        catch (Exception ex) when (ex is RedisConnectionException or OrleansException)
        {
            host.Dispose();
            throw new CliError($"cannot join the cluster '{clusterId}' through Redis: {ex.Message.Split('\n')[0]}", ex);
        }

        await WaitForCoordinatorAsync(host, clusterId, cancellationToken);
        return new ClusterConnection(host);
    }

    /// <summary>
    /// Waits until the cluster's manifest, as this client sees it, has a silo hosting the run grain: right after
    /// silos start, a client may join through a worker-only silo that has not yet learnt of the coordinators.
    /// </summary>
    private static async Task WaitForCoordinatorAsync(IHost host, string clusterId, CancellationToken cancellationToken)
    {
        var client = host.Services.GetRequiredService<IClusterClient>();
        var deadline = DateTime.UtcNow + CoordinatorWait;
        while (true)
        {
            try
            {
                // Resolving a reference makes no call: it only checks that some silo of the cluster implements the grain.
                _ = client.GetGrain<Icdiff.Grains.IAuditRunGrain>("probe");
                return;
            }
            catch (ArgumentException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
            catch (ArgumentException ex)
            {
                host.Dispose();
                throw new CliError($"the cluster '{clusterId}' has no silo with the coordinator role (Icdiff:Silo:Roles) after {CoordinatorWait.TotalSeconds:0} s.", ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
