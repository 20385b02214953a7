using System.Text.Json;

namespace Icdiff.Cli.Tests;

public sealed class RecallTests
{
    [Fact]
    public async Task TwoStageRetrieval_FindsTheExhaustiveBestMatchOfReplicas_AtTheDefaultK_On5000GalleryImages()
    {
        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(20), "recall");
        var root = figures.RootElement;
        Assert.True(root.GetProperty("gallery").GetInt32() >= 5000);
        Assert.True(root.GetProperty("replicaQueries").GetInt32() >= 100, "too few replicas to measure recall on");
        var rows = root.GetProperty("rows").EnumerateArray().ToArray();
        var atDefault = rows.Where(r => r.GetProperty("isDefaultK").GetBoolean()).ToArray();
        Assert.Equal(2, atDefault.Length);
        foreach (var row in atDefault)
        {
            var recall = row.GetProperty("recallReplicas").GetDouble();
            Assert.True(recall >= 0.99, $"{row.GetProperty("proxies").GetString()} proxies: replica best-match recall {recall:0.0000} < 0.99 at the default k");
            Assert.True(row.GetProperty("replicaVerdictAgreement").GetDouble() >= 0.99);
        }

        // Recall cannot fall as k grows: the top-k candidates are a prefix of the top-(k+1).
        var float32 = rows.Where(r => r.GetProperty("proxies").GetString() == "float32").Select(r => r.GetProperty("recallAll").GetDouble()).ToArray();
        Assert.Equal(float32.Order(), float32);
    }
}
