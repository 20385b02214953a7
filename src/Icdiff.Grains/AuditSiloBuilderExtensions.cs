using Icdiff.Core;
using Icdiff.History;
using Icdiff.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Icdiff.Grains;

public static class AuditSiloBuilderExtensions
{
    /// <summary>
    /// Registers what the audit grains need on a silo besides the adapters (decoder, embedder provider, corpus
    /// providers, gallery index backends, the history store), which the host adds with their own AddXxx calls.
    /// </summary>
    public static ISiloBuilder AddAuditGrains(this ISiloBuilder silo)
    {
        silo.Services.AddOptions<AuditSiloOptions>()
            .BindConfiguration(AuditSiloOptions.SectionName)
            .ValidateAllProblemsOnStart();
        silo.Services.AddOptions<GalleryIndexOptions>()
            .BindConfiguration(GalleryIndexOptions.SectionName)
            .ValidateAllProblemsOnStart();
        // A silo hosts only its roles' grains: placement then never picks it for the others, and a cluster with no
        // worker silo is found when a worker call cannot be placed (see ShardDispatcher).
        silo.Services.AddOptions<GrainTypeOptions>().PostConfigure<IOptions<AuditSiloOptions>>((types, audit) =>
        {
#pragma warning disable IL2026 // grain classes are registered by the generated manifest; this only removes entries
            types.Classes.RemoveWhere(type =>
                type.GetCustomAttributes(typeof(HostedOnAttribute), inherit: false) is [HostedOnAttribute hosted]
                && !audit.Value.HasRole(hosted.Role));
#pragma warning restore IL2026
        });
        silo.Services.AddOptions<HistoryOptions>()
            .BindConfiguration(HistoryOptions.SectionName)
            .ValidateAllProblemsOnStart();
        silo.Services.AddOptions<SchedulingOptions>()
            .BindConfiguration(SchedulingOptions.SectionName)
            .ValidateAllProblemsOnStart();
        // The history store (IRunHistoryStore) is the host's to compose (Icdiff.History.Sql in AddIcdiffSilo).
        silo.Services.TryAddSingleton(sp => new AlertWebhook(new HttpClient(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<AlertWebhook>>()));
        silo.Services.TryAddSingleton<RunHistoryRecorder>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, HistoryLifecycle>();
        // Orleans refuses reminder periods under a minute unless told otherwise: the configured tick is the minimum wanted.
        silo.Services.AddOptions<ReminderOptions>().PostConfigure<IOptions<SchedulingOptions>>((reminders, scheduling) =>
        {
            if (scheduling.Value.TickInterval < reminders.MinimumReminderPeriod)
            {
                reminders.MinimumReminderPeriod = scheduling.Value.TickInterval;
            }
        });
        silo.Services.AddImagePipeline();
        // The index backends are composed by the host (AddEmbeddedGalleryIndex, ...); the grains see only these.
        silo.Services.TryAddSingleton<GalleryIndexBackends>();
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GalleryIndexOptions>, GalleryIndexKindValidator>());
        silo.Services.TryAddSingleton<WorkerSiloDirectory>();
        silo.Services.AddPlacementDirector<IcdiffWorkerSlotPlacement, WorkerSlotPlacementDirector>();
        silo.Services.TryAddSingleton<CorpusSourceResolver>();
        // Hosts with a shared store (Redis in a cluster) register theirs first; the default keeps runs under the data directory.
        silo.Services.TryAddSingleton<IRunStore>(sp => new FileRunStore(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuditSiloOptions>>().Value.DataDirectory));
        return silo;
    }
}
