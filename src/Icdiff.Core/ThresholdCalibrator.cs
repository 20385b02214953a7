namespace Icdiff.Core;

/// <summary>
/// Fits the five ascending thresholds of a single-vector model to labelled pairs so that the number of pairs
/// whose predicted level equals the human level is maximal. Because levels must rise with the cosine, the
/// optimum is a monotone segmentation of the pairs sorted by cosine, found exactly by dynamic programming
/// in O(n * 6) rather than by a grid search over thresholds.
/// </summary>
public static class ThresholdCalibrator
{
    public static float[] Fit(IReadOnlyList<(float Cosine, int Level)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            throw new ArgumentException("calibration needs at least one labelled pair.", nameof(pairs));
        }

        foreach (var (cosine, level) in pairs)
        {
            if (!ReplicationLevels.IsValid(level) || !float.IsFinite(cosine))
            {
                throw new ArgumentException($"a labelled pair has level {level} and cosine {cosine}; levels are 0..5 and cosines finite.", nameof(pairs));
            }
        }

        var sorted = pairs.OrderBy(p => p.Cosine).ToArray();
        var n = sorted.Length;
        const int L = ReplicationLevels.Count;

        // best[i, l]: most agreements among the first i pairs when pair i-1 gets level l (levels non-decreasing).
        var best = new int[n + 1, L];
        var from = new int[n + 1, L];
        for (var i = 1; i <= n; i++)
        {
            var runningMax = int.MinValue;
            var runningArg = 0;
            for (var l = 0; l < L; l++)
            {
                if (best[i - 1, l] > runningMax)
                {
                    runningMax = best[i - 1, l];
                    runningArg = l;
                }

                best[i, l] = runningMax + (sorted[i - 1].Level == l ? 1 : 0);
                from[i, l] = runningArg;
            }
        }

        var assigned = new int[n];
        var last = 0;
        for (var l = 1; l < L; l++)
        {
            if (best[n, l] > best[n, last])
            {
                last = l;
            }
        }

        for (var i = n; i >= 1; i--)
        {
            assigned[i - 1] = last;
            last = from[i, last];
        }

        // Threshold t_l sits halfway between the highest cosine assigned below l and the lowest assigned l or more.
        var thresholds = new float[ReplicationLevels.Total];
        for (var l = 1; l <= ReplicationLevels.Total; l++)
        {
            var firstAtOrAbove = Array.FindIndex(assigned, a => a >= l);
            if (firstAtOrAbove < 0)
            {
                thresholds[l - 1] = Math.Min(1f, MathF.BitIncrement(sorted[n - 1].Cosine));
            }
            else if (firstAtOrAbove == 0)
            {
                thresholds[l - 1] = sorted[0].Cosine;
            }
            else
            {
                thresholds[l - 1] = (sorted[firstAtOrAbove - 1].Cosine + sorted[firstAtOrAbove].Cosine) / 2f;
            }
        }

        for (var l = 1; l < thresholds.Length; l++)
        {
            thresholds[l] = Math.Max(thresholds[l], thresholds[l - 1]);
        }

        return thresholds;
    }

    /// <summary>How many pairs the thresholds put at their labelled level.</summary>
    public static int Agreements(IReadOnlyList<(float Cosine, int Level)> pairs, IReadOnlyList<float> thresholds)
    {
        var rule = new CosineThresholdsRule(thresholds);
        return pairs.Count(p => rule.LevelOf(p.Cosine) == p.Level);
    }
}
