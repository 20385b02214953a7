namespace Icdiff.Evaluation;

/// <summary>
/// One human-labelled pair as D-Rep publishes them: a name, the level 0..5, the generated and the real image.
/// <see cref="Generated"/> and <see cref="Real"/> are paths, or, where the pairs file holds the encoded images
/// themselves (the published D-Rep parquet), a label saying where in the file they are, with the bytes in
/// <see cref="GeneratedBytes"/> and <see cref="RealBytes"/>.
/// </summary>
public sealed record LabelledPair(string Name, int Level, string Generated, string Real)
{
    /// <summary>The encoded generated image when the pairs file carries it; null: read <see cref="Generated"/> as a path.</summary>
    public byte[]? GeneratedBytes { get; init; }

    /// <summary>The encoded real image when the pairs file carries it; null: read <see cref="Real"/> as a path.</summary>
    public byte[]? RealBytes { get; init; }

    /// <summary>The pair without its image bytes: what a result keeps, so scored pairs never hold a file's images.</summary>
    public LabelledPair WithoutBytes() => GeneratedBytes is null && RealBytes is null ? this : this with { GeneratedBytes = null, RealBytes = null };
}
