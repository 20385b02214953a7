namespace Icdiff.Core;

/// <summary>The six replication levels of ICDiff: 0 (no replication) to 5 (total replication).</summary>
public static class ReplicationLevels
{
    public const int None = 0;
    public const int Total = 5;
    public const int Count = 6;

    public static bool IsValid(int level) => level is >= None and <= Total;

    /// <summary>The normalised similarity the paper reports for a level: level / 5.</summary>
    public static double Normalise(int level) => level / (double)Total;
}
