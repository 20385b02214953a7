using System.Collections.Concurrent;
using Icdiff.History;
using Icdiff.History.Sql;
using Icdiff.Tests.Shared;

namespace Icdiff.Grains.Tests;

/// <summary>
/// A two-silo cluster with the run history in SQLite, in-memory reminders ticking every half second, one schedule
/// firing every three seconds over a folder the tests add images to, a ratio limit on model-b and an alert webhook
/// served by a real HTTP listener on loopback.
/// </summary>
public sealed class HistoryClusterFixture : IAsyncLifetime
{
    public const string ScheduleName = "every-3s";
    public const string ScheduledModel = "sched-model";

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-history-{Guid.NewGuid():N}");

    private static string _webhookUrl = "";

    private PostRecorder? _webhook;

    public TestCluster Cluster { get; private set; } = null!;

    public DemoCorpus Corpus { get; private set; } = null!;

    /// <summary>The schedule's model folder: the first images of model-a at start; the tests add the rest.</summary>
    public static string ScheduledFolder => Path.Combine(DataDirectory, "scheduled");

    /// <summary>model-a's images held back from the scheduled folder at start.</summary>
    public IReadOnlyList<string> HeldBack { get; private set; } = [];

    public ConcurrentQueue<string> WebhookCalls => _webhook!.Bodies;

    public SqliteRunHistoryStore Store { get; } = new(Path.Combine(DataDirectory, "history.db"));

    public async ValueTask InitializeAsync()
    {
        Corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(23));
        var images = Directory.GetFiles(Corpus.ModelPaths["model-a"]).Order(StringComparer.Ordinal).ToList();
        Directory.CreateDirectory(ScheduledFolder);
        foreach (var image in images.Take(20))
        {
            File.Copy(image, Path.Combine(ScheduledFolder, Path.GetFileName(image)));
        }

        HeldBack = images.Skip(20).ToList();
        _webhook = await PostRecorder.StartAsync();
        _webhookUrl = _webhook.HookUrl.ToString();
        Cluster = await TestClusters.DeployAsync<SiloConfigurator>(2);
    }

    public async ValueTask DisposeAsync()
    {
        await TestClusters.TearDownAsync(Cluster, DataDirectory);
        if (_webhook is not null)
        {
            await _webhook.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = DataDirectory);
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
            siloBuilder.Services.Configure<HistoryOptions>(o =>
            {
                o.ProgressInterval = TimeSpan.FromMilliseconds(200);
                o.ModelLimits["model-b"] = 0.01;
                o.WebhookUrl = new Uri(_webhookUrl);
            });
            siloBuilder.Services.Configure<SchedulingOptions>(o =>
            {
                o.TickInterval = TimeSpan.FromMilliseconds(500);
                o.Schedules[ScheduleName] = new AuditSchedule
                {
                    Cron = "*/3 * * * * *",
                    Gallery = Path.Combine(DataDirectory, "corpus", "gallery"),
                    Models = { [ScheduledModel] = ScheduledFolder },
                    ShardSize = 8,
                };
            });
            siloBuilder.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromMilliseconds(100));
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.AddAuditSilo(LogLevel.Warning);
        }
    }
}
