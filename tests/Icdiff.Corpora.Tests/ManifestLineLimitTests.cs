using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;

namespace Icdiff.Corpora.Tests;

/// <summary>
/// The line limit of text manifests holds while a line is read (the process-level memory bound on a 400 MB line is
/// measured by the CLI's ManifestMemoryTests); line endings of every kind still end lines.
/// </summary>
public sealed class ManifestLineLimitTests
{
    private const int MaxLineChars = 1 << 20;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(".csv", 1)]
    [InlineData(".csv", 3)]
    [InlineData(".jsonl", 2)]
    public async Task ALineOneCharacterOverTheLimit_IsOneErrorNamingFileAndLine(string extension, int longLine)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("icdiff-lines-").FullName, "m" + extension);
        var rows = extension == ".csv" ? new List<string> { "uri", "a.png", "b.png" } : ["{\"uri\":\"a.png\"}", "{\"uri\":\"b.png\"}", "{\"uri\":\"c.png\"}"];
        rows[longLine - 1] = new string('x', MaxLineChars + 1);
        await File.WriteAllLinesAsync(path, rows, Token);

        var error = await Assert.ThrowsAsync<CorpusException>(async () =>
        {
            await foreach (var _ in new ManifestCorpusProvider([new LocalFileContentReader()]).Open(path).ListAsync(Token))
            {
            }
        });

        Assert.Equal($"manifest '{path}' line {longLine}: longer than {MaxLineChars} characters.", error.Message);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task LinesEndedByAnyLineBreak_AndALastLineWithoutOne_AreRowsAndALineAtTheLimitIsKept(string newline)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("icdiff-lines-").FullName, "m.csv");
        // A line of exactly the limit: the image and 17 metadata fields (each under the 64 Ki field limit).
        const int Columns = 17;
        var fields = Enumerable.Range(0, Columns).Select(i => new string((char)('a' + i), i < Columns - 1 ? 61_680 : MaxLineChars - 22 - ((Columns - 1) * 61_680))).ToArray();
        var atLimit = "c.png," + string.Join(',', fields);
        Assert.Equal(MaxLineChars, atLimit.Length);
        var empty = new string(',', Columns);
        var header = "uri," + string.Join(',', Enumerable.Range(1, Columns).Select(i => $"m{i}"));
        await File.WriteAllTextAsync(path, string.Join(newline, header, "a.png" + empty, "", atLimit, "b.png" + empty), Token);

        var keys = new List<string>();
        await foreach (var item in new ManifestCorpusProvider([new LocalFileContentReader()]).Open(path).ListAsync(Token))
        {
            keys.Add(item.Key);
        }

        Assert.Equal(["a.png", "c.png", "b.png"], keys);
    }
}
