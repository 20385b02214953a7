using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Tests;

/// <summary><c>icdiff serve</c> and <c>icdiff runs export</c> as a user runs them: real processes, a real schedule.</summary>
public sealed class ServeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serve_runs_its_schedule_in_an_embedded_silo_shows_the_run_and_export_writes_it()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-serve-").FullName;
        var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), DemoCorpusSpec.Small(41), null, Token);
        var data = Path.Combine(root, "data");
        var settings = Path.Combine(root, "settings.json");
        await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new
        {
            Icdiff = new
            {
                Scheduling = new
                {
                    TickInterval = "00:00:01",
                    Schedules = new Dictionary<string, object> { ["nightly"] = new { Cron = "*/2 * * * * *", Gallery = corpus.GalleryPath, Models = new Dictionary<string, string> { ["model-a"] = corpus.ModelPaths["model-a"] } } },
                },
            },
        }), Token);
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "icdiff.dll"), "serve", "--data-dir", data, "--urls", $"http://127.0.0.1:{port}", "--settings", settings])
        {
            start.ArgumentList.Add(arg);
        }

        using var serve = Process.Start(start)!;
        var stderr = serve.StandardError.ReadToEndAsync(Token);
        string runId;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var deadline = DateTime.UtcNow.AddMinutes(3);
            JsonElement? completed = null;
            while (completed is null && DateTime.UtcNow < deadline && !serve.HasExited)
            {
                try
                {
                    using var runs = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/api/runs", Token));
                    // Newest first: the schedule's first run (every image) is the oldest completed one; later runs
                    // audit only images new since, which on a slow poll may already be listed above it.
                    completed = runs.RootElement.EnumerateArray().Where(r => r.GetProperty("schedule").GetString() == "nightly" && r.GetProperty("state").GetString() == "Completed").Select(r => (JsonElement?)r.Clone()).LastOrDefault();
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(250, Token);
            }

            Assert.True(completed is not null, $"no completed scheduled run; serve exited: {serve.HasExited}");
            runId = completed.Value.GetProperty("runId").GetString()!;
            var model = completed.Value.GetProperty("models")[0];
            Assert.Equal(corpus.Spec.Models.Single(m => m.Name == "model-a").Total, model.GetProperty("scanned").GetInt32());
            var overview = await http.GetStringAsync($"http://127.0.0.1:{port}/", Token);
            Assert.Contains("data-model=\"model-a\"", overview, StringComparison.Ordinal);
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync(Token);
        }

        var csv = Path.Combine(root, "run.csv");
        var export = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "runs", "export", runId, "--format", "csv", "--data-dir", data, "--out", csv);
        Assert.True(export.ExitCode == 0, export.Stderr + await stderr);
        Assert.Equal(1 + corpus.Spec.Models.Single(m => m.Name == "model-a").Total, (await File.ReadAllLinesAsync(csv, Token)).Length);

        var missing = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "runs", "export", "no-such-run", "--data-dir", data);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no run 'no-such-run'", missing.Stderr, StringComparison.Ordinal);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task Serve_beyond_loopback_without_an_api_key_refuses_to_start()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "serve", "--urls", "http://0.0.0.0:0", "--data-dir", Path.Combine(Path.GetTempPath(), $"icdiff-none-{Guid.NewGuid():N}"));
        Assert.Equal(2, code);
        Assert.Contains("beyond loopback: set Icdiff:Dashboard:ApiKey", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_applies_the_binding_rules_to_kestrel_endpoints_from_the_settings_and_prints_the_address_really_bound()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-serve-kestrel-").FullName;
        var exposed = Path.Combine(root, "exposed.json");
        await File.WriteAllTextAsync(exposed, """{ "Kestrel": { "Endpoints": { "Web": { "Url": "http://0.0.0.0:0" } } } }""", Token);
        var loopback = Path.Combine(root, "loopback.json");
        await File.WriteAllTextAsync(loopback, """{ "Kestrel": { "Endpoints": { "Web": { "Url": "http://127.0.0.1:0" } } } }""", Token);

        // --urls says loopback, the settings' endpoint says every interface: the endpoint is what Kestrel binds, so it is refused.
        var refused = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), "serve", "--urls", "http://127.0.0.1:0", "--settings", exposed, "--data-dir", Path.Combine(root, "data"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("listens on http://0.0.0.0:0, beyond loopback: set Icdiff:Dashboard:ApiKey", refused.Stderr, StringComparison.Ordinal);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "icdiff.dll"), "serve", "--data-dir", Path.Combine(root, "data"), "--settings", loopback])
        {
            start.ArgumentList.Add(arg);
        }

        using var serve = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        string? first;
        while ((first = await serve.StandardOutput.ReadLineAsync(timeout.Token)) is not null && !first.StartsWith("Dashboard on ", StringComparison.Ordinal))
        {
        }

        serve.Kill(entireProcessTree: true);
        await serve.WaitForExitAsync(Token);
        Assert.NotNull(first);
        var address = System.Text.RegularExpressions.Regex.Match(first, @"Dashboard on (http://127\.0\.0\.1:(\d+))");
        Assert.True(address.Success && address.Groups[2].Value != "0", first);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
