namespace Icdiff.Dashboard;

/// <summary>Event ids of the dashboard: 6000-6099.</summary>
internal static class DashboardEventIds
{
    public const int ThumbnailTimedOut = 6000;
    public const int HostRefused = 6001;
}
