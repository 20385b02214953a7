namespace Icdiff.Synthesis;

/// <summary>
/// Deterministic seed mixing. HashCode and string.GetHashCode are randomised per process, which would make
/// a corpus differ between two runs of the demo.
/// </summary>
internal static class StableSeed
{
    public static int Mix(int a, int b, int c, int d = 0)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var v in (ReadOnlySpan<int>)[a, b, c, d])
        {
            h = SplitMix((h ^ (uint)v) + 0x9E3779B97F4A7C15UL);
        }

        return (int)(h & 0x7FFFFFFF);
    }

    public static int Of(string text)
    {
        var h = 2166136261u;
        foreach (var ch in text)
        {
            h = (h ^ ch) * 16777619u;
        }

        return (int)(h & 0x7FFFFFFF);
    }

    private static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
