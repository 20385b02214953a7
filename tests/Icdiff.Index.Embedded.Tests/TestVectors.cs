using Icdiff.Core;

namespace Icdiff.Index.Embedded.Tests;

internal static class TestVectors
{
    /// <summary>A random unit vector: components uniform in [-1, 1], then normalised.</summary>
    public static float[] RandomUnit(Random random, int dim)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        EmbeddingMath.NormaliseTokens(v, 1);
        return v;
    }
}
