namespace Icdiff.Core;

/// <summary>
/// How well predicted replication levels agree with human ones, in the paper's terms: Pearson correlation and
/// mean squared error of the normalised levels (level / 5), the mean absolute deviation of the same (|p/5 - h/5|
/// averaged: an error in level steps / 5 that one large miss does not dominate as it does the MSE), plus the 6x6
/// confusion matrix and per-level accuracy.
/// </summary>
public sealed record LevelAgreement(int Pairs, double Pearson, double MeanSquaredError, double ExactAgreement, int[][] Confusion, double?[] PerLevelAccuracy)
{
    /// <summary>Mean of |predicted/5 - human/5| over the pairs; NaN when there are none.</summary>
    public double MeanAbsoluteDeviation { get; init; } = double.NaN;

    public static LevelAgreement Compute(IReadOnlyList<(int Human, int Predicted)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var confusion = Enumerable.Range(0, ReplicationLevels.Count).Select(_ => new int[ReplicationLevels.Count]).ToArray();
        double sumH = 0, sumP = 0, sumHH = 0, sumPP = 0, sumHP = 0, squared = 0, absolute = 0;
        var exact = 0;
        foreach (var (human, predicted) in pairs)
        {
            if (!ReplicationLevels.IsValid(human) || !ReplicationLevels.IsValid(predicted))
            {
                throw new ArgumentException($"levels must be 0..5 (got human {human}, predicted {predicted}).", nameof(pairs));
            }

            confusion[human][predicted]++;
            var h = ReplicationLevels.Normalise(human);
            var p = ReplicationLevels.Normalise(predicted);
            sumH += h;
            sumP += p;
            sumHH += h * h;
            sumPP += p * p;
            sumHP += h * p;
            squared += (h - p) * (h - p);
            absolute += Math.Abs(h - p);
            exact += human == predicted ? 1 : 0;
        }

        var n = pairs.Count;
        if (n == 0)
        {
            return new LevelAgreement(0, double.NaN, double.NaN, double.NaN, confusion, new double?[ReplicationLevels.Count]);
        }

        var covariance = sumHP - (sumH * sumP / n);
        var varianceH = sumHH - (sumH * sumH / n);
        var varianceP = sumPP - (sumP * sumP / n);
        // A constant prediction (or constant labels) has no correlation to speak of: NaN, not a fake 0.
        var pearson = varianceH <= 0 || varianceP <= 0 ? double.NaN : covariance / Math.Sqrt(varianceH * varianceP);
        var perLevel = confusion.Select((row, level) => row.Sum() == 0 ? (double?)null : row[level] / (double)row.Sum()).ToArray();
        return new LevelAgreement(n, pearson, squared / n, exact / (double)n, confusion, perLevel) { MeanAbsoluteDeviation = absolute / n };
    }
}
