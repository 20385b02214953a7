namespace Icdiff.Core;

/// <summary>A gallery entry retrieved for a query, with its proxy cosine.</summary>
public readonly record struct IndexCandidate(int Ordinal, float ProxyScore);
