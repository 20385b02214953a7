namespace Icdiff.Synthesis;

/// <summary>The size and make-up of a synthetic audit corpus.</summary>
public sealed record DemoCorpusSpec(int GallerySize, IReadOnlyList<SyntheticModelSpec> Models, int Seed)
{
    /// <summary>
    /// The demo: 2,000 gallery images and three models of 600 images with 20%, 10% and 2% replicas at level 4
    /// or above, plus weaker copies (levels 1..3) that an audit at the default criterion must not count.
    /// </summary>
    public static DemoCorpusSpec Default { get; } = new(
        2000,
        [
            new SyntheticModelSpec("aurora-xl", [444, 12, 12, 12, 60, 60]),
            new SyntheticModelSpec("nimbus-2", [510, 10, 10, 10, 30, 30]),
            new SyntheticModelSpec("pixelforge-1", [564, 8, 8, 8, 6, 6]),
        ],
        20261124);

    /// <summary>A small corpus for tests: same structure, a fraction of the size.</summary>
    public static DemoCorpusSpec Small(int seed) => new(
        160,
        [
            new SyntheticModelSpec("model-a", [26, 2, 2, 2, 4, 4]),
            new SyntheticModelSpec("model-b", [34, 1, 1, 0, 2, 2]),
        ],
        seed);

    public string Describe() =>
        $"gallery {GallerySize}, " + string.Join(", ", Models.Select(m => $"{m.Name} {m.Total} (levels 0..5: {string.Join('/', m.LevelCounts)})")) + $", seed {Seed}";
}
