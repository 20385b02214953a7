using System.Collections.Concurrent;
using Orleans.Metadata;

namespace Icdiff.Grains;

/// <summary>
/// The worker silos a coordinator can hand shards to right now: active members of the cluster whose manifest
/// implements the worker grain (a silo without the worker role removes it, see <see cref="AuditSiloBuilderExtensions"/>),
/// and how many shards each takes at once, asked of each silo once (a restarted silo is a new address, asked again).
/// Both views are the silo's own in-memory snapshots, so reading them per dispatch costs no call.
/// </summary>
public sealed class WorkerSiloDirectory(IClusterManifestProvider manifests, IClusterMembershipService membership, IGrainFactory grains)
{
    private readonly ConcurrentDictionary<SiloAddress, Task<int>> _capacities = new();

    public IReadOnlyList<SiloAddress> ActiveWorkers()
    {
        var snapshot = membership.CurrentSnapshot;
        var workers = new List<SiloAddress>();
        foreach (var (silo, manifest) in manifests.Current.Silos)
        {
            if (manifest.Grains.ContainsKey(WorkerGrain.Type) && snapshot.GetSiloStatus(silo) == SiloStatus.Active)
            {
                workers.Add(silo);
            }
        }

        // A stable order, so equal loads are broken the same way everywhere.
        workers.Sort((a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        return workers;
    }

    /// <summary>Shards the worker silo works on at once, as it reports (its own <c>Icdiff:Silo:MaxShardsInFlight</c>).</summary>
    public async Task<int> CapacityAsync(SiloAddress silo)
    {
        var task = _capacities.GetOrAdd(silo, s => grains.GetGrain<IWorkerGrain>(WorkerSlotKey.For(s, 0)).GetCapacityAsync());
        try
        {
            return await task;
        }
        catch
        {
            // Not cached: a failed question is asked again next time.
            _capacities.TryRemove(new KeyValuePair<SiloAddress, Task<int>>(silo, task));
            throw;
        }
    }

    public void Forget(SiloAddress silo) => _capacities.TryRemove(silo, out _);
}
