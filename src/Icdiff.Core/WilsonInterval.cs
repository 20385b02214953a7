namespace Icdiff.Core;

/// <summary>
/// Wilson score interval for a binomial proportion. Chosen over the normal approximation because audits
/// often see ratios near 0% and small corpora, where the Wald interval collapses or leaves [0, 1].
/// </summary>
public readonly record struct WilsonInterval(double Lower, double Upper)
{
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    public static WilsonInterval Compute(long successes, long trials, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (trials == 0)
        {
            return new WilsonInterval(0, 1);
        }

        double n = trials;
        var p = successes / n;
        var z2 = z * z;
        var denominator = 1 + (z2 / n);
        var centre = (p + (z2 / (2 * n))) / denominator;
        var halfWidth = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n))) / denominator;
        // At 0 and n the bounds are exactly 0 and 1; rounding must not push them past the observed proportion.
        var lower = successes == 0 ? 0 : Math.Max(0, centre - halfWidth);
        var upper = successes == trials ? 1 : Math.Min(1, centre + halfWidth);
        return new WilsonInterval(lower, upper);
    }

    public bool Contains(double proportion) => proportion >= Lower && proportion <= Upper;
}
