namespace Icdiff.Core;

/// <summary>
/// The verdict for one (generated, gallery) pair: a replication level and the cosine that decided it.
/// Pairs order by level first and cosine second, so "best match" means highest level, then closest.
/// </summary>
public readonly record struct PairScore(int Level, float Similarity) : IComparable<PairScore>
{
    public static PairScore Nothing => new(ReplicationLevels.None, float.NegativeInfinity);

    public int CompareTo(PairScore other)
    {
        var byLevel = Level.CompareTo(other.Level);
        return byLevel != 0 ? byLevel : Similarity.CompareTo(other.Similarity);
    }

    public static bool operator <(PairScore left, PairScore right) => left.CompareTo(right) < 0;
    public static bool operator >(PairScore left, PairScore right) => left.CompareTo(right) > 0;
    public static bool operator <=(PairScore left, PairScore right) => left.CompareTo(right) <= 0;
    public static bool operator >=(PairScore left, PairScore right) => left.CompareTo(right) >= 0;
}
