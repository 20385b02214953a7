using System.Text;
using Icdiff.Corpora.Manifest;
using Icdiff.Tests.Shared;
using Parquet.Serialization;

namespace Icdiff.Corpora.Tests;

/// <summary>
/// The manifest readers on thousands of random and mutated files: each either reads or fails with
/// <see cref="ManifestFormatException"/>, never another exception, and never runs past a time limit.
/// </summary>
public sealed class ManifestFuzzTests
{
    private const int CasesPerFormat = 1500;
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(5);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Csv_RandomAndMutatedInputs_ReadOrFailCleanly() =>
        await FuzzAsync(".csv", [
            "uri,model,prompt,sha256\nimg/a.png,m,\"a cat, sitting\",h1\nimg/b.png,m2,\"quoted \"\"x\"\"\",h2\n"u8.ToArray(),
            "path;other\n\"a.png\",1\n"u8.ToArray(),
            "image\r\nx.jpg\r\n\r\n"u8.ToArray(),
        ], 101);

    [Fact]
    public async Task JsonLines_RandomAndMutatedInputs_ReadOrFailCleanly() =>
        await FuzzAsync(".jsonl", [
            "{\"uri\":\"img/a.png\",\"model\":\"m\",\"prompt\":\"a cat\",\"seed\":3}\n{\"path\":\"b.png\",\"model\":null,\"extra\":{\"k\":[1,2]}}\n"u8.ToArray(),
            "{\"image\":\"x.jpg\"}\n\n{\"image\":\"y.jpg\",\"id\":\"7\"}\n"u8.ToArray(),
        ], 202);

    [Fact]
    public async Task Parquet_RandomAndMutatedInputs_ReadOrFailCleanly()
    {
        using var stream = new MemoryStream();
        await ParquetSerializer.SerializeAsync(
            Enumerable.Range(0, 20).Select(i => new ManifestCorpusTests.Row { Uri = $"img/{i}.png", Model = $"m{i % 3}", Sha256 = $"h{i}", Seed = i }),
            stream,
            cancellationToken: Token);
        await FuzzAsync(".parquet", [stream.ToArray()], 303);
    }

    private static async Task FuzzAsync(string extension, byte[][] seeds, int seed)
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-fuzz-").FullName;
        var path = Path.Combine(folder, "manifest" + extension);
        var outcomes = new Dictionary<string, int>();
        var number = 0;
        foreach (var input in InputMutator.Cases(seeds, CasesPerFormat, seed))
        {
            number++;
            await File.WriteAllBytesAsync(path, input, Token);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Token);
            limit.CancelAfter(PerInput);
            string outcome;
            try
            {
                // On its own task, so that a reader stuck in a loop that never looks at the token is caught too.
                var reading = Task.Run(
                    async () =>
                    {
                        await foreach (var row in ManifestReader.ReadAsync(path, limit.Token).WithCancellation(limit.Token))
                        {
                        }
                    },
                    CancellationToken.None);
                await reading.WaitAsync(PerInput + PerInput, Token);
                outcome = "read";
            }
            catch (TimeoutException)
            {
                Assert.Fail($"{extension} case {number} (seed {seed}) hung: {Convert.ToBase64String(input)}");
                throw;
            }
            catch (ManifestFormatException)
            {
                outcome = "rejected";
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !Token.IsCancellationRequested)
            {
                Assert.Fail($"{extension} case {number} (seed {seed}) ran past {PerInput}: {Convert.ToBase64String(input)}");
                throw;
            }
            catch (Exception ex)
            {
                Assert.Fail($"{extension} case {number} (seed {seed}) threw {ex.GetType().Name}: {ex.Message}\ninput (base64): {Convert.ToBase64String(input)}");
                throw;
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        // Both outcomes occur: the mutations reach past the first byte, and some leave valid files.
        Assert.True(outcomes.GetValueOrDefault("read") > 0 && outcomes.GetValueOrDefault("rejected") > 0, string.Join(", ", outcomes));
    }
}
