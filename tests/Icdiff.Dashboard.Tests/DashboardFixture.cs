using Icdiff.Corpora.Manifest;
using Icdiff.Grains;
using Icdiff.Hosting;
using Icdiff.History.Sql;
using Icdiff.Synthesis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace Icdiff.Dashboard.Tests;

/// <summary>
/// A history holding three real runs of a small demo (audited by an in-process Orleans cluster with the real model),
/// one run still in progress, a dashboard on loopback over it, and Debian's Chromium driven by Playwright.
/// The demo's model-a folder also holds a copy of a gallery image named <c>&lt;script&gt;.png</c> and a corrupt file
/// whose name is an HTML tag with an event handler: both must reach the pages as text.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ScriptName = "<script>.png";
    public const string TagName = "<img src=x onerror=alert(2)>.png";
    public const string RunningRunId = "live-run";
    public const string HostilePrompt = "<script>alert(3)</script> a lighthouse at dusk";

    private static readonly string DataDirectory = Path.Combine(Path.GetTempPath(), $"icdiff-dashboard-{Guid.NewGuid():N}");

    private TestCluster? _cluster;
    private WebApplication? _app;
    private IPlaywright? _playwright;

    public SqliteRunHistoryStore Store { get; } = new(Path.Combine(DataDirectory, "history.db"));

    public DemoCorpus Corpus { get; private set; } = null!;

    public List<string> RunIds { get; } = [];

    /// <summary>The manifest of model-c (model-b's images, with prompts).</summary>
    public string ModelCLocation { get; private set; } = "";

    public string BaseUrl { get; private set; } = "";

    public IBrowser? Browser { get; private set; }

    /// <summary>Why the browser tests skip (no Chromium), or null.</summary>
    public string? BrowserSkipReason { get; private set; }

    /// <summary>Where the screenshots go: artifacts/screenshots under the repository root.</summary>
    public static string ScreenshotFolder { get; } = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    public async ValueTask InitializeAsync()
    {
        Corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(5));
        var modelA = Corpus.ModelPaths["model-a"];
        File.Copy(Directory.GetFiles(Corpus.GalleryPath).Order(StringComparer.Ordinal).First(), Path.Combine(modelA, ScriptName));
        await File.WriteAllTextAsync(Path.Combine(modelA, TagName), "not an image");

        // model-c: a manifest over model-b's images with the prompts they were generated from (one of them markup).
        var manifest = Path.Combine(DataDirectory, "model-c.csv");
        var rows = Directory.GetFiles(Corpus.ModelPaths["model-b"]).Order(StringComparer.Ordinal)
            .Select((file, i) => $"{file},\"{(i == 0 ? HostilePrompt : $"prompt number {i}")}\"");
        await File.WriteAllLinesAsync(manifest, rows.Prepend("uri,prompt"));
        ModelCLocation = manifest;

        _cluster = new TestClusterBuilder { Options = { InitialSilosCount = 1 } }.AddSiloBuilderConfigurator<SiloConfigurator>().Build();
        await _cluster.DeployAsync();
        var request = new AuditRequest(
            Corpus.GalleryPath,
            [.. Corpus.Spec.Models.Select(m => new ModelCorpus(m.Name, Corpus.ModelPaths[m.Name])), new ModelCorpus("model-c", ModelCLocation)],
            "builtin",
            ReplicaCriterion.DefaultMinLevel,
            ReplicaCriterion.DefaultCandidates,
            32);
        for (var i = 0; i < 3; i++)
        {
            var runId = $"demo-{i + 1}";
            var run = _cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
            var status = await run.StartAsync(request);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            while (!status.IsFinished)
            {
                await Task.Delay(100, timeout.Token);
                status = await run.GetStatusAsync();
            }

            if (status.State != RunState.Completed)
            {
                throw new InvalidOperationException($"demo run {runId} ended {status.State}: {status.Error}");
            }

            // The history records the end after the run's own state; wait for it.
            while (await Store.GetRunAsync(runId, timeout.Token) is not { IsRunning: false })
            {
                await Task.Delay(100, timeout.Token);
            }

            RunIds.Add(runId);
        }

        // A run in progress, written through the same calls an audit makes while it runs.
        await Store.RecordStartAsync(new HistoryRun(RunningRunId, null, HistoryRunStates.Running, DateTimeOffset.UtcNow, null, Corpus.GalleryPath, 0, 0, null, null, "criterion", 4, "{}", null, false, [HistoryModel.Pending("model-a", modelA)]));
        await Store.RecordProgressAsync(RunningRunId, HistoryRunStates.Running, [new HistoryProgress("model-a", 40, 17, false)]);

        BaseUrl = await StartDashboardAsync("http://127.0.0.1:0", apiKey: null);

        if (!File.Exists(ChromiumPath))
        {
            BrowserSkipReason = $"{ChromiumPath} is not installed (Debian package chromium; .ci/run installs it)";
            return;
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // The machine has no network beyond loopback: Chromium must not try to reach Google's services.
            Args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    /// <summary>Starts a dashboard over the fixture's history; returns its address.</summary>
    public async Task<string> StartDashboardAsync(string url, string? apiKey, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IRunHistoryStore>(Store);
        builder.Services.AddManifestCorpora().AddFileSystemCorpora();
        builder.Services.AddSingleton<CorpusSourceResolver>();
        builder.Services.AddIcdiffDashboard();
        builder.Services.Configure<IcdiffDashboardOptions>(o => o.ApiKey = apiKey);
        var app = builder.Build();
        app.UseDashboardAccess();
        app.MapIcdiffDashboard();
        await app.StartAsync();
        if (apiKey is null && settings is null)
        {
            _app = app;
        }
        else
        {
            _extraApps.Add(app);
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
    }

    private readonly List<WebApplication> _extraApps = [];

    /// <summary>The services of the loopback dashboard at <see cref="BaseUrl"/>.</summary>
    public IServiceProvider Services => _app!.Services;

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        foreach (var app in _extraApps.Append(_app).OfType<WebApplication>())
        {
            await app.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Icdiff.Distributed.sln")))
            {
                return folder.FullName;
            }
        }

        return Path.GetTempPath();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = DataDirectory);
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
            siloBuilder.Services.AddLogging(l => l.AddFilter("Orleans", LogLevel.Error));
            siloBuilder.AddIcdiffSilo();
        }
    }
}

/// <summary>One history, cluster and browser for all dashboard test classes (the silo configuration reads a static folder).</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
