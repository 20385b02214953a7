namespace Icdiff.Silo;

/// <summary>Log messages of the silo host.</summary>
internal static partial class SiloLog
{
    [LoggerMessage(EventId = SiloEventIds.SettingNotUsed, Level = LogLevel.Warning, Message = "{Problem} The silo starts without it; icdiff-silo --check-config lists every such setting.")]
    public static partial void SettingNotUsed(ILogger logger, string problem);
}
