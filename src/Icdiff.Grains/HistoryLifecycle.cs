using Icdiff.History;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Silo start-up work of the history: the store's schema is migrated before grains run, and once the silo is active a
/// coordinator registers the reminder of every configured schedule (registration is idempotent, so every coordinator
/// may do it).
/// </summary>
internal sealed class HistoryLifecycle(IRunHistoryStore store, IOptions<AuditSiloOptions> audit, IOptions<SchedulingOptions> scheduling, IGrainFactory grains)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(HistoryLifecycle) + ".Migrate", ServiceLifecycleStage.ApplicationServices, ct => store.MigrateAsync(ct));
        lifecycle.Subscribe(nameof(HistoryLifecycle) + ".Schedules", ServiceLifecycleStage.Active, async ct =>
        {
            if (!audit.Value.IsCoordinator)
            {
                return;
            }

            foreach (var name in scheduling.Value.Schedules.Where(s => !s.Value.OnDemandOnly).Select(s => s.Key))
            {
                await grains.GetGrain<IScheduleGrain>(name).EnsureRegisteredAsync();
            }
        });
    }
}
