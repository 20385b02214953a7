namespace Icdiff.Silo;

/// <summary>Event ids of the silo host: 8000-8099.</summary>
internal static class SiloEventIds
{
    public const int SettingNotUsed = 8000;
}
