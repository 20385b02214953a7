using Icdiff.Tabular;

namespace Icdiff.Corpora.Tests;

/// <summary>The shared tabular readers on their own: the record lines and fields every manifest and pairs file gets.</summary>
public sealed class TabularRecordsTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static TabularSource Source(string path) => TabularSource.For(path, "table", (message, inner) => new InvalidDataException(message, inner));

    private static async Task<string> WriteAsync(string name, string content)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("icdiff-tabular-").FullName, name);
        await File.WriteAllTextAsync(path, content, Token);
        return path;
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task CsvRecords_StartOnTheirOwnLine_WithQuotedBreaksReadAsLineFeeds_BlankLinesSkipped_AndStrayQuotesKept(string newline)
    {
        var path = await WriteAsync("t.csv", string.Join(newline, "a,b", "1,\"two", "lines\"", "", "x\"y,3", "\"q\"\"r\",4"));

        var records = new List<CsvRecord>();
        await foreach (var record in CsvRecords.ReadAsync(Source(path), Token))
        {
            records.Add(record);
        }

        Assert.Equal([1L, 2L, 5L, 6L], records.Select(r => r.Line));
        Assert.Equal(["1", "two\nlines"], records[1].Fields);
        Assert.Equal(["x\"y", "3"], records[2].Fields);
        Assert.Equal(["q\"r", "4"], records[3].Fields);
    }

    [Fact]
    public async Task CsvRecord_WhoseQuoteIsOpenAtTheEnd_IsAnErrorNamingTheLineItStartsOn()
    {
        var path = await WriteAsync("t.csv", "a,b\r\n1,2\r\n3,\"open\r\nstill open\r\n");

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in CsvRecords.ReadAsync(Source(path), Token))
            {
            }
        });

        Assert.Equal($"table '{path}' line 3: a quoted field is not closed before the end of the file.", error.Message);
    }

    [Fact]
    public async Task JsonLineRecords_KeepMemberOrder_AndReadNonStringsAsTheirJson()
    {
        var path = await WriteAsync("t.jsonl", "{\"b\":\"x\",\"a\":3,\"c\":null,\"d\":[1]}\n\n{\"A\":true}\n");

        var records = new List<JsonLineRecord>();
        await foreach (var record in JsonLineRecords.ReadAsync(Source(path), Token))
        {
            records.Add(record);
        }

        Assert.Equal([1L, 3L], records.Select(r => r.Line));
        Assert.Equal(["b", "a", "c", "d"], records[0].Names);
        Assert.Equal("3", records[0].Values["A"]);
        Assert.Null(records[0].Values["c"]);
        Assert.Equal("[1]", records[0].Values["d"]);
        Assert.Equal("true", records[1].Values["a"]);
    }
}
