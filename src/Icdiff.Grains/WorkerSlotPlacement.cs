using System.Globalization;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Icdiff.Grains;

/// <summary>
/// Places a worker grain on the silo its key names. The dispatcher decides where each shard goes (it knows every
/// worker silo's capacity and load); placement only carries that decision out. Default placement would put every
/// activation wherever its statistics said was best when the first call arrived, which was one silo for a whole run.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class IcdiffWorkerSlotPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class WorkerSlotPlacementAttribute() : PlacementAttribute(new IcdiffWorkerSlotPlacement());

internal sealed class WorkerSlotPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (WorkerSlotKey.TryParse(target.GrainIdentity.Key.ToString(), out var silo, out _) && Array.IndexOf(compatible, silo) >= 0)
        {
            return Task.FromResult(silo);
        }

        // The named silo is gone (a key minted just before it left): any worker silo does the work; the dispatcher
        // learns of the loss from membership and stops naming it.
        return Task.FromResult(compatible[Random.Shared.Next(compatible.Length)]);
    }
}

/// <summary>Worker grain keys: "{silo}#{slot}", the silo in Orleans' parsable form (which holds no '#').</summary>
public static class WorkerSlotKey
{
    public static string For(SiloAddress silo, int slot) => string.Create(CultureInfo.InvariantCulture, $"{silo.ToParsableString()}#{slot}");

    public static bool TryParse(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SiloAddress? silo, out int slot)
    {
        silo = null;
        slot = -1;
        var hash = key.LastIndexOf('#');
        if (hash <= 0 || !int.TryParse(key.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out slot))
        {
            return false;
        }

        try
        {
            silo = SiloAddress.FromParsableString(key[..hash]);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            return false;
        }
    }
}
