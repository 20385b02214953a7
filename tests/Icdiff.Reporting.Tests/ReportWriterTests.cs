using Icdiff.Grains;
using Icdiff.Reporting;

namespace Icdiff.Reporting.Tests;

public sealed class ReportWriterTests
{
    private static AuditReport Report(string imageName) => new(
        "run-1",
        "/gallery",
        10,
        [new SkipRecord("<b>bad</b>.png", "Corrupt", "header <unreadable>")],
        "model",
        "rule",
        "criterion",
        4,
        DateTimeOffset.UnixEpoch,
        DateTimeOffset.UnixEpoch,
        [
            new ModelReport(
                "/gen",
                new ModelSummary("m<1>", 2, 1, 0, 0.5, 0.1, 0.9, [1, 0, 0, 0, 0, 1], new Dictionary<string, int>(), 1),
                [new MatchRecord(imageName, "g,1.png", 5, 0.99f), new MatchRecord("=SUM(A1).png", null, 0, 0f)],
                [],
                null),
        ]);

    [Fact]
    public async Task RenderHtml_EscapesEveryNameFromTheCorpus()
    {
        var html = await ReportWriter.RenderHtmlAsync(Report("<script>alert(1)</script>.png"), (_, _) => null, 12);

        Assert.DoesNotContain("<script>", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>bad</b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("m<1>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;.png", html, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteCsv_QuotesSeparatorsAndDefusesFormulas()
    {
        var path = Path.Combine(Path.GetTempPath(), $"icdiff-{Guid.NewGuid():N}.csv");
        try
        {
            ReportWriter.WriteCsv(Report("a\"b.png"), path);
            var lines = File.ReadAllLines(path);

            Assert.Equal("model,image,best_match,level,score,replica,other_rule_match,other_rule_level", lines[0]);
            // Records without the other rule's level (AltLevel -1) leave its two columns empty.
            Assert.Equal("m<1>,\"a\"\"b.png\",\"g,1.png\",5,0.990000,1,,", lines[1]);
            Assert.Equal("m<1>,'=SUM(A1).png,,0,0.000000,0,,", lines[2]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
