using System.Net;
using System.Net.Sockets;
using Icdiff.Grains;
using Icdiff.Grains.Index.Milvus;
using Icdiff.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Icdiff.Cli;

/// <summary>
/// A one-silo Orleans cluster inside the CLI process (localhost clustering on free ports), so an embedded audit
/// runs through exactly the grains a cluster runs. Logs go to stderr at warning level; stdout is the user's.
/// </summary>
internal sealed class EmbeddedSilo : IAsyncDisposable
{
    private readonly IHost _host;

    private EmbeddedSilo(IHost host)
    {
        _host = host;
    }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => _host.Services;

    /// <param name="settings">Settings the environment may override (a settings file).</param>
    /// <param name="overrides">Settings that win over the environment (the benchmark's stage layouts).</param>
    public static async Task<EmbeddedSilo> StartAsync(string dataDirectory, CancellationToken cancellationToken, IConfiguration? settings = null, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        if (settings is not null)
        {
            builder.Configuration.AddConfiguration(settings);
        }

        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(overrides ?? []);
        builder.Configuration.AddInMemoryCollection([new($"{AuditSiloOptions.SectionName}:{nameof(AuditSiloOptions.DataDirectory)}", dataDirectory)]);
        CliSettings.Check(builder.Configuration);
        if (await MilvusStartupCheck.UnreachableAsync(builder.Configuration, cancellationToken) is { } unreachable)
        {
            throw new CliError(unreachable);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Every silo start logs a spurious watchdog warning; it says nothing about the audit.
        builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        // The ServerGC advice targets long-running silos; a CLI run is better served by the workstation GC.
        builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        // A failed start (an invalid setting, say) is reported once by the command as one line; the host's own log of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            // Schedules (icdiff serve) live in this process: their reminders need no store beyond it.
            silo.UseInMemoryReminderService();
            silo.AddIcdiffSilo();
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new EmbeddedSilo(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
