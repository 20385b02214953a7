namespace Icdiff.Synthesis;

/// <summary>What the generator made: a generated image, the level it is meant to have and the gallery image it copies.</summary>
public sealed record TruthRow(string Model, string Key, int Level, string? SourceKey);
