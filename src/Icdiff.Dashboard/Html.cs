using System.Globalization;

namespace Icdiff.Dashboard;

/// <summary>How the pages write numbers, times and durations (the Razor components escape whatever they write).</summary>
internal static class Html
{
    public static string Percent(double value) => (value * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    public static string Time(DateTimeOffset? value) => value is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "-";

    public static string Duration(TimeSpan? value) => value is { } v ? (v.TotalHours >= 1 ? v.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : v.ToString(@"m\:ss", CultureInfo.InvariantCulture)) : "-";

    public static string Num(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
