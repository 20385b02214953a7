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
        DemoSeed);

    /// <summary>A small corpus for tests: same structure, a fraction of the size.</summary>
    public static DemoCorpusSpec Small(int seed) => new(
        160,
        [
            new SyntheticModelSpec("model-a", [26, 2, 2, 2, 4, 4]),
            new SyntheticModelSpec("model-b", [34, 1, 1, 0, 2, 2]),
        ],
        seed);

    /// <summary>The demo's default seed; a training set must be drawn from another one.</summary>
    public const int DemoSeed = 20261124;

    /// <summary>
    /// A labelled training set for PDF-Embedding: one "model" of <paramref name="pairs"/> generated images split evenly
    /// over the six levels, against a gallery of half as many images, all drawn from <paramref name="seed"/> (never
    /// the demo's, so no training image is one the demo audits).
    /// </summary>
    public static DemoCorpusSpec TrainingSet(int pairs, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairs, 6);
        if (seed == DemoSeed)
        {
            throw new ArgumentException($"seed {seed} is the demo's own; a training set needs another one to stay disjoint from the demo's audit.", nameof(seed));
        }

        var counts = Enumerable.Range(0, 6).Select(level => (pairs / 6) + (level < pairs % 6 ? 1 : 0)).ToArray();
        return new(Math.Max(16, pairs / 2), [new SyntheticModelSpec("train", counts)], seed);
    }

    public string Describe() =>
        $"gallery {GallerySize}, " + string.Join(", ", Models.Select(m => $"{m.Name} {m.Total} (levels 0..5: {string.Join('/', m.LevelCounts)})")) + $", seed {Seed}";
}
