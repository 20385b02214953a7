using Icdiff.Files;

namespace Icdiff.Corpora.Tests;

public sealed class CsvLineTests
{
    [Theory]
    [InlineData("plain.png", "plain.png")]
    [InlineData("with, comma.png", "\"with, comma.png\"")]
    [InlineData("say \"hi\".png", "\"say \"\"hi\"\".png\"")]
    [InlineData("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("-1+2", "'-1+2")]
    [InlineData("\tcmd", "'\tcmd")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Field_QuotesWhatNeedsItAndDefusesFormulas(string? value, string expected) => Assert.Equal(expected, CsvLine.Field(value));

    [Fact]
    public void Fields_SplitBackToTheirValues()
    {
        string[] values = ["a,b", "say \"hi\"", "plain", ""];
        Assert.True(CsvLine.TrySplit(string.Join(',', values.Select(CsvLine.Field)), out var fields));
        Assert.Equal(values, fields);
    }
}
