using System.Net;
using Icdiff.RunStore.Redis;
using Icdiff.Core;
using Icdiff.Dashboard;
using Icdiff.Grains;
using Icdiff.Grains.Index.Milvus;
using Icdiff.Hosting;
using Icdiff.Silo;
using Orleans.Configuration;
using Orleans.Dashboard;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StackExchange.Redis;

// A cluster silo. Configuration from environment variables (Icdiff__Cluster__Redis, Icdiff__Silo__Roles,
// Icdiff__Silo__DataDirectory, Icdiff__History__Postgres, Icdiff__Scheduling__Schedules__<name>__Cron, ...) or
// appsettings.json; OTEL_EXPORTER_OTLP_ENDPOINT turns on OTLP export. `icdiff-silo --check-config` only checks the
// configuration: one line per bad, unknown or unused setting and exit 2, or exit 0.
const string CheckConfigSwitch = "--check-config";
var checkOnly = args.Contains(CheckConfigSwitch, StringComparer.Ordinal);
// Removed before the command line becomes configuration, where a bare switch would swallow the next argument.
var builder = WebApplication.CreateBuilder([.. args.Where(a => a != CheckConfigSwitch)]);
// Default levels as configuration, so Logging:LogLevel:<category> overrides them (see SiloLogLevels).
SiloLogLevels.AddTo(builder.Configuration);
var problems = SiloSettingsCheck.Check(builder.Configuration);
var refused = checkOnly ? problems : [.. problems.Where(p => p.Kind == SettingProblemKind.Invalid)];
foreach (var problem in refused)
{
    Console.Error.WriteLine($"icdiff-silo: error: {problem.Message}");
}

if (refused.Count > 0)
{
    return 2;
}

// Bound only now: a value the binder cannot convert has been reported above, naming its key.
var cluster = builder.Configuration.GetSection(IcdiffClusterOptions.SectionName).Get<IcdiffClusterOptions>() ?? new IcdiffClusterOptions();
if (checkOnly)
{
    var audit = builder.Configuration.GetSection(AuditSiloOptions.SectionName).Get<AuditSiloOptions>() ?? new AuditSiloOptions();
    Console.WriteLine($"icdiff-silo: configuration ok: roles {audit.Roles}, web host {cluster.ListenUrl}{(IcdiffDashboardOptions.IsLoopback(cluster.ListenUrl) ? "" : " (behind the dashboard key)")}.");
    return 0;
}

var listenUrl = cluster.ListenUrl;
try
{
    // Kestrel endpoints set by configuration follow the same binding rules as the web host's own address.
    (builder.Configuration.GetSection(IcdiffDashboardOptions.SectionName).Get<IcdiffDashboardOptions>() ?? new IcdiffDashboardOptions()).Validate(SiloSettings.ListenUrls(builder.Configuration, listenUrl));
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"icdiff-silo: error: {ex.Message}");
    return 2;
}

if (await MilvusStartupCheck.UnreachableAsync(builder.Configuration, CancellationToken.None) is { } milvusUnreachable)
{
    Console.Error.WriteLine($"icdiff-silo: error: {milvusUnreachable}");
    return 3;
}

ConnectionMultiplexer redis;
try
{
    redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis!);
}
catch (RedisConnectionException ex)
{
    // The connection string may hold a password: name the key, not the value.
    Console.Error.WriteLine($"icdiff-silo: error: cannot reach the Redis named by {IcdiffClusterOptions.SectionName}:Redis ({ex.FailureType}).");
    return 3;
}

builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
builder.Services.AddSingleton<IRunStore>(sp => new RedisRunStore(redis, $"icdiff:{cluster.ServiceId}", sp.GetRequiredService<ILogger<RedisRunStore>>()));
builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(cluster));
builder.Services.AddSingleton<MembershipGuard>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<MembershipGuard>());
builder.Services.AddHealthChecks().AddCheck<SiloMembershipHealthCheck>("membership");
builder.Services.AddSingleton<CorpusSourceResolver>();
builder.Services.AddIcdiffDashboard();
builder.UseOrleans(silo =>
{
    if (cluster.Kubernetes)
    {
        // Silo name, advertised address, listening endpoints and cluster ids from the pod.
        silo.UseKubernetesHosting();
        silo.Configure<EndpointOptions>(o =>
        {
            o.SiloPort = cluster.SiloPort;
            o.GatewayPort = cluster.GatewayPort;
        });
    }
    else
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
    }

    silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis!));
    // Schedule reminders live in the cluster's Redis, so a schedule keeps firing whichever silos come and go.
    silo.UseRedisReminderService(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis!));
    silo.AddActivityPropagation();
    silo.AddDashboard();
    silo.AddIcdiffSilo();
});

var exportOtlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
builder.Services.AddOpenTelemetry()
    .ConfigureResource(r => r.AddService("icdiff-silo", serviceInstanceId: Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName))
    .WithMetrics(metrics =>
    {
        metrics.AddMeter(IcdiffTelemetry.Name, "Microsoft.Orleans").AddRuntimeInstrumentation().AddPrometheusExporter();
        if (exportOtlp)
        {
            metrics.AddOtlpExporter();
        }
    })
    .WithTracing(tracing =>
    {
        tracing.AddSource(IcdiffTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application");
        if (exportOtlp)
        {
            tracing.AddOtlpExporter();
        }
    });

builder.WebHost.UseUrls(listenUrl);

var app = builder.Build();
foreach (var problem in problems)
{
    SiloLog.SettingNotUsed(app.Logger, problem.Message);
}

// Probes and scrapers reach /healthz and /metrics without the key; every page needs it off loopback.
app.UseDashboardAccess("/healthz", "/metrics");
// The in-box health checks (SiloMembershipHealthCheck): 200 with "active", or 503 with what the silo is waiting for.
app.MapHealthChecks("/healthz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
{
    ResponseWriter = (context, report) => context.Response.WriteAsync(string.Join("; ", report.Entries.Values.Select(e => e.Description))),
});
app.MapPrometheusScrapingEndpoint("/metrics");
app.MapOrleansDashboard("/dashboard");
// The replication dashboard over the cluster's history (PostgreSQL when Icdiff__History__Postgres is set).
app.MapIcdiffDashboard();

try
{
    await app.RunAsync();
}
catch (Exception ex) when (FindHistoryError(ex) is { } history)
{
    // An unreachable or newer history store stops the silo before it joins: one line, not a stack trace.
    Console.Error.WriteLine($"icdiff-silo: error: {history.Message}");
    return 3;
}

return 0;

static Icdiff.History.HistoryStoreException? FindHistoryError(Exception? ex) => ex switch
{
    null => null,
    Icdiff.History.HistoryStoreException history => history,
    AggregateException aggregate => aggregate.InnerExceptions.Select(FindHistoryError).FirstOrDefault(e => e is not null),
    _ => FindHistoryError(ex.InnerException),
};
