namespace Icdiff.Silo;

/// <summary>Event ids of the silo host: 6000-6099 (membership and run store), 8000-8099 (configuration).</summary>
internal static class SiloEventIds
{
    // 6000: the Redis run store's loss of its data (Icdiff.RunStore.Redis).
    public const int MembershipEntryLost = 6001;
    public const int MembershipRejoined = 6002;
    public const int MembershipCheckFailed = 6003;
    public const int SettingNotUsed = 8000;
}
