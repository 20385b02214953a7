namespace Icdiff.Silo;

/// <summary>Event ids of the silo host: 6000-6099 (membership and run store), 8000-8099 (configuration).</summary>
internal static class SiloEventIds
{
    public const int RunStoreLost = 6000;
    public const int MembershipEntryLost = 6001;
    public const int MembershipRejoined = 6002;
    public const int MembershipCheckFailed = 6003;
    public const int SettingNotUsed = 8000;
}
