namespace Icdiff.Evaluation;

/// <summary>One human-labelled pair as D-Rep publishes them: a name, the level 0..5, the generated and the real image.</summary>
public sealed record LabelledPair(string Name, int Level, string Generated, string Real);
