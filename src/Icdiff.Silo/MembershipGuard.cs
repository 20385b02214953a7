using System.Diagnostics;
using Icdiff.RunStore.Redis;
using Icdiff.Grains;
using Microsoft.Extensions.Options;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Icdiff.Silo;

/// <summary>
/// Watches for a Redis that came back without its data. Orleans keeps a silo's last view of the membership table
/// when the table reappears empty (an older version than it saw), so the silos go on working with each other, but
/// nobody is listed: a client finds no gateway, a silo that joins sees no one. Every few seconds this checks that
/// the silo's own row is in the table; when it is gone the silo writes it back, after raising the table's version
/// above the one it saw (so its own view, and its peers', accept the refilled table as newer). Each live silo does the
/// same for itself, so the table refills with exactly the live silos. It also has the run store look for its marker,
/// so a lost store is noticed between writes. Until the row is back, <see cref="Healthy"/> is false and /healthz says so.
/// </summary>
internal sealed partial class MembershipGuard(
    IServiceProvider services,
    IConnectionMultiplexer redis,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> clusterOptions,
    IOptions<RedisClusteringOptions> redisOptions,
    IOptions<IcdiffClusterOptions> settings,
    IRunStore store,
    ILogger<MembershipGuard> logger) : BackgroundService
{
    private const string RaiseVersion = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'Version') or '-1')
        if stored < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'Version', ARGV[1]) end
        return 1
        """;

    private static readonly DateTime StartedAt = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public bool Healthy { get; private set; } = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Value.MembershipCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckOnceAsync();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Redis unreachable right now: the next tick looks again; Orleans and the store ride out short outages.
                Log.CheckFailed(logger, ex);
            }
        }
    }

    private async Task CheckOnceAsync()
    {
        if (store is RedisRunStore runStore)
        {
            await runStore.CheckMarkerAsync();
        }

        var snapshot = membership.CurrentSnapshot;
        if (snapshot.GetSiloStatus(silo.SiloAddress) != SiloStatus.Active)
        {
            return; // joining or leaving: Orleans owns the row then
        }

        var table = services.GetRequiredService<IMembershipTable>();
        if ((await table.ReadRowAsync(silo.SiloAddress, CancellationToken.None)).Members.Count > 0)
        {
            Healthy = true;
            return;
        }

        Healthy = false;
        Log.EntryLost(logger, silo.SiloAddress);
        var key = redisOptions.Value.CreateRedisKey(clusterOptions.Value);
        await redis.GetDatabase().ScriptEvaluateAsync(RaiseVersion, [key], [snapshot.Version.Value]);
        var current = await table.ReadAllAsync(CancellationToken.None);
        var entry = new MembershipEntry
        {
            SiloAddress = silo.SiloAddress,
            Status = SiloStatus.Active,
            HostName = silo.DnsHostName,
            SiloName = silo.Name,
            ProxyPort = silo.GatewayAddress?.Endpoint.Port ?? 0,
            StartTime = StartedAt,
            IAmAliveTime = DateTime.UtcNow,
            SuspectTimes = [],
        };
        if (await table.InsertRowAsync(entry, current.Version.Next(), CancellationToken.None))
        {
            Healthy = true;
            Log.Rejoined(logger, silo.SiloAddress, current.Version.Version + 1);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = SiloEventIds.MembershipEntryLost, Level = LogLevel.Error, Message = "This silo ({Silo}) is missing from the membership table in Redis (Redis restarted without its data?): writing it back")]
        public static partial void EntryLost(ILogger logger, SiloAddress silo);

        [LoggerMessage(EventId = SiloEventIds.MembershipRejoined, Level = LogLevel.Warning, Message = "This silo ({Silo}) is listed in the membership table again (table version {Version})")]
        public static partial void Rejoined(ILogger logger, SiloAddress silo, int version);

        [LoggerMessage(EventId = SiloEventIds.MembershipCheckFailed, Level = LogLevel.Warning, Message = "Could not check this silo's membership entry; trying again at the next interval")]
        public static partial void CheckFailed(ILogger logger, Exception exception);
    }
}
