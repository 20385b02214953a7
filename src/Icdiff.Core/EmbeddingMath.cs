using System.Numerics.Tensors;

namespace Icdiff.Core;

/// <summary>
/// Embedding conventions shared by every stage: tokens are L2-normalised once, right after inference, so
/// all later cosines are dot products; the proxy vector that a vector index searches is the normalised
/// mean of the tokens (for a single-token model, the token itself).
/// </summary>
public static class EmbeddingMath
{
    /// <summary>Normalises each of <paramref name="tokens"/> consecutive slices in place; zero tokens stay zero.</summary>
    public static void NormaliseTokens(Span<float> embedding, int tokens)
    {
        var dim = embedding.Length / tokens;
        for (var k = 0; k < tokens; k++)
        {
            var token = embedding.Slice(k * dim, dim);
            var norm = TensorPrimitives.Norm(token);
            if (norm > 0 && float.IsFinite(norm))
            {
                TensorPrimitives.Divide(token, norm, token);
            }
            else
            {
                token.Clear();
            }
        }
    }

    /// <summary>Writes the proxy (dim floats) of a normalised multi-token embedding.</summary>
    public static void Proxy(ReadOnlySpan<float> embedding, int tokens, Span<float> proxy)
    {
        var dim = embedding.Length / tokens;
        if (proxy.Length != dim)
        {
            throw new ArgumentException($"proxy needs {dim} floats, got {proxy.Length}.", nameof(proxy));
        }

        embedding[..dim].CopyTo(proxy);
        for (var k = 1; k < tokens; k++)
        {
            TensorPrimitives.Add(proxy, embedding.Slice(k * dim, dim), proxy);
        }

        var norm = TensorPrimitives.Norm(proxy);
        if (norm > 0 && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(proxy, norm, proxy);
        }
        else
        {
            proxy.Clear();
        }
    }

    public static bool IsFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
