namespace Icdiff.Synthesis;

/// <summary>A fictional diffusion model: how many of its images have each intended level (index = level 0..5).</summary>
public sealed record SyntheticModelSpec(string Name, IReadOnlyList<int> LevelCounts)
{
    public int Total => LevelCounts.Sum();

    /// <summary>The share of images meant to be at <paramref name="minLevel"/> or above: the rate an audit should measure.</summary>
    public double TrueRate(int minLevel) => LevelCounts.Skip(minLevel).Sum() / (double)Total;
}
