using System.Collections.Concurrent;
using Icdiff.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Icdiff.Cli.Tests;

/// <summary>The silo host's default log levels, on a real web host serving real requests.</summary>
public sealed partial class SiloLogLevelsTests
{
    private const string Ours = "Icdiff.Silo.Test";

    [Fact]
    public async Task Defaults_SilenceAspNetCoreRequestLogs_AndKeepOurInformationLines()
    {
        var entries = await ServeThreeRequestsAsync([]);

        Assert.Contains(entries, e => e.Category == Ours && e.Level == LogLevel.Information);
        Assert.DoesNotContain(entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level < LogLevel.Warning);
    }

    [Fact]
    public async Task Configuration_OverridesTheDefaults()
    {
        var entries = await ServeThreeRequestsAsync(["--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information"]);

        // Hosting writes "Request starting" and "Request finished" for each request.
        Assert.Equal(6, entries.Count(e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Level == LogLevel.Information));
    }

    private static async Task<IReadOnlyList<(string Category, LogLevel Level)>> ServeThreeRequestsAsync(string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = WebApplication.CreateBuilder(args);
        SiloLogLevels.AddTo(builder.Configuration);
        var sink = new CapturingLoggerProvider();
        builder.Logging.ClearProviders().AddProvider(sink);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        var ours = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Ours);
        app.MapGet("/healthz", () =>
        {
            Probed(ours);
            return Results.Text("active");
        });

        await app.StartAsync(ct);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("active", await client.GetStringAsync(new Uri("/healthz", UriKind.Relative), ct));
        }

        await app.StopAsync(ct);
        return [.. sink.Entries];
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "probed")]
    private static partial void Probed(ILogger logger);

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel));
        }
    }
}
