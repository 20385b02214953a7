using System.Globalization;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Icdiff.Grains.Index.Sharded;

/// <summary>
/// Spreads the partitions of one sharded gallery index over the silos that can hold them: partition i of an index goes
/// to the (i + offset)-th of those silos in address order, the offset taken from the index key so that two indexes do
/// not both start on the same silo. Orleans' default (resource-optimised) placement picks the silo its statistics rate
/// best when the first call arrives; under load that was one silo for every partition, which then held the whole
/// gallery. A partition whose silo is lost is re-activated by the same rule over the silos that remain.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class IcdiffPartitionSpreadPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class PartitionSpreadPlacementAttribute() : PlacementAttribute(new IcdiffPartitionSpreadPlacement());

internal sealed class PartitionSpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        return Task.FromResult(Choose(compatible, target.GrainIdentity.Key.ToString()));
    }

    internal static SiloAddress Choose(IReadOnlyList<SiloAddress> compatible, string partitionKey)
    {
        if (compatible.Count == 0)
        {
            throw new OrleansException($"No silo can hold gallery partition {partitionKey}: no worker silo is in the cluster.");
        }

        var ordered = compatible.OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToList();
        return ordered[(int)(Slot(partitionKey) % (uint)ordered.Count)];
    }

    /// <summary>Partition number plus a stable hash of the index key; a key in another form gets its hash alone.</summary>
    internal static uint Slot(string partitionKey)
    {
        var bar = partitionKey.LastIndexOf('|');
        var indexKey = bar < 0 ? partitionKey : partitionKey[..bar];
        var offset = (uint)(ShardedGalleryIndexGrain.StableHash(indexKey) % int.MaxValue);
        if (bar >= 0)
        {
            var rest = partitionKey.AsSpan(bar + 1);
            var slash = rest.IndexOf('/');
            if (slash > 0 && uint.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
            {
                return unchecked(offset + partition);
            }
        }

        return offset;
    }
}
