using System.Text;

namespace Icdiff.Tests.Shared;

/// <summary>
/// Random and mutated inputs for parser robustness tests: byte flips, insertions, deletions, truncation, repeated
/// chunks, splices of syntax characters, and wholly random bytes. Deterministic for a seed, so a failure names
/// the seed and case that reproduce it.
/// </summary>
internal static class InputMutator
{
    private static readonly byte[][] Tokens =
    [
        "\""u8.ToArray(), ","u8.ToArray(), "\n"u8.ToArray(), "\r\n"u8.ToArray(), "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(),
        ":"u8.ToArray(), "null"u8.ToArray(), "1e999"u8.ToArray(), "-0"u8.ToArray(), "\\u0000"u8.ToArray(), [0], [0xFF, 0xFE], [0xEF, 0xBB, 0xBF],
        "99999999999999999999"u8.ToArray(), Encoding.UTF8.GetBytes(new string('[', 200)), Encoding.UTF8.GetBytes(new string('"', 3)), "PAR1"u8.ToArray(),
    ];

    public static IEnumerable<byte[]> Cases(IReadOnlyList<byte[]> seeds, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            if (i % 10 == 9)
            {
                var noise = new byte[random.Next(0, 2048)];
                random.NextBytes(noise);
                yield return noise;
                continue;
            }

            var input = new List<byte>(seeds[random.Next(seeds.Count)]);
            var mutations = 1 + random.Next(6);
            for (var m = 0; m < mutations; m++)
            {
                Mutate(input, random);
            }

            yield return [.. input];
        }
    }

    private static void Mutate(List<byte> input, Random random)
    {
        var at = input.Count == 0 ? 0 : random.Next(input.Count);
        switch (random.Next(6))
        {
            case 0 when input.Count > 0:
                input[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                input.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                break;
            case 2 when input.Count > 0:
                input.RemoveRange(at, Math.Min(input.Count - at, 1 + random.Next(16)));
                break;
            case 3:
                input.RemoveRange(at, input.Count - at);
                break;
            case 4 when input.Count > 0:
                var length = Math.Min(input.Count - at, 1 + random.Next(64));
                var chunk = input.GetRange(at, length);
                for (var r = random.Next(1, 4); r > 0; r--)
                {
                    input.InsertRange(random.Next(input.Count), chunk);
                }

                break;
            default:
                if (input.Count > 0)
                {
                    input[at] = (byte)random.Next(256);
                }

                break;
        }
    }
}
