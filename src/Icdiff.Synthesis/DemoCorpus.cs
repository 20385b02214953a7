namespace Icdiff.Synthesis;

/// <summary>A synthetic corpus on disk: the gallery folder, one folder per model and the ground truth.</summary>
public sealed record DemoCorpus(DemoCorpusSpec Spec, string Root, string GalleryPath, IReadOnlyDictionary<string, string> ModelPaths, IReadOnlyList<TruthRow> Truth)
{
    public const string TruthFile = "truth.csv";
    public const string PairsFile = "pairs.csv";
}
