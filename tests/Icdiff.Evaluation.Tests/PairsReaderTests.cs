using Icdiff.Evaluation;
using Parquet.Serialization;

namespace Icdiff.Evaluation.Tests;

public sealed class PairsReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("icdiff-pairs-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task ReadAsync_Csv_ResolvesPathsAgainstTheFileAndHandlesQuotes()
    {
        var path = Write("pairs.csv", "name,level,generated,real\n\"a, b\",4,gen/a.png,/abs/real.jpg\nplain,0,\"gen/\"\"q\"\".png\",real/x.png\n");

        var pairs = await PairsReader.ReadAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(2, pairs.Count);
        Assert.Equal(new LabelledPair("a, b", 4, Path.Combine(_folder, "gen/a.png"), "/abs/real.jpg"), pairs[0]);
        Assert.Equal(Path.Combine(_folder, "gen/\"q\".png"), pairs[1].Generated);
    }

    [Fact]
    public async Task ReadAsync_Csv_QuotedNameOverTwoLines_IsOneRecord_AndLaterLinesAreNumberedAsInTheFile()
    {
        var path = Write("pairs.csv", "name,level,generated,real\n\"first\nsecond\",4,g.png,r.png\nok,9,g.png,r.png\n");

        var error = await Assert.ThrowsAsync<PairsFormatException>(() => PairsReader.ReadAsync(path, TestContext.Current.CancellationToken));
        File.WriteAllText(path, "name,level,generated,real\n\"first\nsecond\",4,g.png,r.png\nok,1,g.png,r.png\n");
        var pairs = await PairsReader.ReadAsync(path, TestContext.Current.CancellationToken);

        Assert.Contains("line 4: level '9'", error.Message, StringComparison.Ordinal);
        Assert.Equal(["first\nsecond", "ok"], pairs.Select(p => p.Name));
        Assert.Equal([4, 1], pairs.Select(p => p.Level));
    }

    [Fact]
    public async Task ReadAsync_JsonLines_AcceptsNumericAndStringLevels()
    {
        var path = Write("pairs.jsonl", "{\"name\":\"x\",\"level\":5,\"generated\":\"g.png\",\"real\":\"r.png\"}\n\n{\"level\":\"2\",\"generated\":\"g2.png\",\"real\":\"r2.png\"}\n");

        var pairs = await PairsReader.ReadAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal([5, 2], pairs.Select(p => p.Level));
        Assert.Equal("g2.png", pairs[1].Name);
    }

    [Fact]
    public async Task ReadAsync_Parquet_ReadsTheFourColumns()
    {
        var path = Path.Combine(_folder, "pairs.parquet");
        await ParquetSerializer.SerializeAsync(
            new[]
            {
                new PairsReader.ParquetPairRow { Name = "p1", Level = 3, Generated = "g.png", Real = "r.png" },
                new PairsReader.ParquetPairRow { Name = "p2", Level = 0, Generated = "g2.png", Real = "r2.png" },
            },
            path,
            cancellationToken: TestContext.Current.CancellationToken);

        var pairs = await PairsReader.ReadAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(["p1", "p2"], pairs.Select(p => p.Name));
        Assert.Equal([3, 0], pairs.Select(p => p.Level));
        Assert.Equal(Path.Combine(_folder, "r2.png"), pairs[1].Real);
    }

    [Fact]
    public async Task StreamAsync_DrepParquet_CarriesTheImageBytesOfEveryRowGroup()
    {
        var path = Path.Combine(_folder, "test.parquet");
        byte[] G(int i) => [1, 2, (byte)i];
        byte[] R(int i) => [9, 8, (byte)i];
        await DrepParquet.WriteAsync(
            path,
            [
                [DrepParquet.Of("a", 5, G(0), R(0), "00000.png", null), DrepParquet.Of("b", 0, G(1), R(1))],
                [DrepParquet.Of("c", 3, G(2), R(2)), DrepParquet.Of("d", 2, null, R(3), generatedPath: "gen/d.png")],
            ],
            TestContext.Current.CancellationToken);

        var pairs = new List<LabelledPair>();
        await foreach (var pair in PairsReader.StreamAsync(path, TestContext.Current.CancellationToken))
        {
            pairs.Add(pair);
        }

        Assert.Equal(["a", "b", "c", "d"], pairs.Select(p => p.Name));
        Assert.Equal([5, 0, 3, 2], pairs.Select(p => p.Level));
        Assert.Equal(G(2), pairs[2].GeneratedBytes);
        Assert.Equal(R(3), pairs[3].RealBytes);
        Assert.Equal("test.parquet row 1 generated_images (00000.png)", pairs[0].Generated);
        Assert.Equal("test.parquet row 3 real_images", pairs[2].Real);
        // An image struct with a path and no bytes is read from disk, like the path layout.
        Assert.Null(pairs[3].GeneratedBytes);
        Assert.Equal(Path.Combine(_folder, "gen", "d.png"), pairs[3].Generated);
        Assert.Null(pairs[0].WithoutBytes().GeneratedBytes);
    }

    [Fact]
    public async Task StreamAsync_DrepParquet_ImageWithNeitherBytesNorPath_NamesTheRow()
    {
        var path = Path.Combine(_folder, "test.parquet");
        await DrepParquet.WriteAsync(path, [[DrepParquet.Of("a", 5, [1], [2]), DrepParquet.Of("b", 1, [1], null)]], TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<PairsFormatException>(() => PairsReader.ReadAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains("row 2: real_images has neither image bytes nor a path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamAsync_DrepParquet_LevelOutOfRange_NamesTheRow()
    {
        var path = Path.Combine(_folder, "test.parquet");
        await DrepParquet.WriteAsync(path, [[DrepParquet.Of("a", 5, [1], [2])], [DrepParquet.Of("b", 6, [1], [2])]], TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<PairsFormatException>(() => PairsReader.ReadAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains("row 2: level '6'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamAsync_ParquetWithoutImageColumns_ListsTheColumns()
    {
        var path = Path.Combine(_folder, "other.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new HalfRow { Name = "x", Level = 1, Generated = "g" } }, path, cancellationToken: TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<PairsFormatException>(() => PairsReader.ReadAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains("there is no real image column", error.Message, StringComparison.Ordinal);
        Assert.Contains("columns: Name, Level, Generated", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pairs.csv", "name,level,generated,real\na,7,g,r\n", "line 2: level '7'")]
    [InlineData("pairs.csv", "name,level,generated,real\na,3,,r\n", "line 2: generated and real")]
    [InlineData("pairs.csv", "id,score\n1,2\n", "the header must name")]
    [InlineData("pairs.csv", "name,level,generated,real\n\"open,3,g,r\n", "not closed")]
    [InlineData("pairs.jsonl", "{\"level\":1,\"generated\":\"g\"}\n", "line 1: generated and real")]
    [InlineData("pairs.jsonl", "{nope\n", "line 1: not valid JSON")]
    [InlineData("pairs.txt", "x", "unknown format")]
    [InlineData("pairs.parquet", "not parquet at all", "not a Parquet file")]
    public async Task ReadAsync_MalformedInput_NamesFileAndPlace(string name, string content, string expected)
    {
        var path = Write(name, content);

        var error = await Assert.ThrowsAsync<PairsFormatException>(() => PairsReader.ReadAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public sealed class HalfRow
    {
        public string? Name { get; set; }

        public int Level { get; set; }

        public string? Generated { get; set; }
    }
}
