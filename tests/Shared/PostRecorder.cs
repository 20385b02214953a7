using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Icdiff.Tests.Shared;

/// <summary>A real HTTP server on loopback that keeps the body of every POST to <see cref="Path"/>: a webhook's receiver.</summary>
public sealed class PostRecorder : IAsyncDisposable
{
    public const string Path = "/hook";

    private readonly WebApplication _app;

    private PostRecorder(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The server's root (http://127.0.0.1:port).</summary>
    public string Address { get; }

    public Uri HookUrl => new(Address + Path);

    public ConcurrentQueue<string> Bodies { get; } = new();

    public static async Task<PostRecorder> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        PostRecorder? recorder = null;
        app.MapPost(Path, async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            recorder!.Bodies.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        });
        await app.StartAsync();
        recorder = new PostRecorder(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return recorder;
    }

    public Task StopAsync() => _app.StopAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
