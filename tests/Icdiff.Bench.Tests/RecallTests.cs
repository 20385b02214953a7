using System.Text.Json;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;

namespace Icdiff.Bench.Tests;

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

    [Fact]
    public async Task Recall_WithTheBuiltinModel_ReportsTop1AndBestLevelRecall_AndFindsEveryTop1()
    {
        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(5), "recall", "--model", "builtin", "--gallery", "60", "--generated", "30", "--k", "1", "4", "64");
        var root = figures.RootElement;
        Assert.Equal("icdiff-builtin-descriptor-v1", root.GetProperty("model").GetString());
        Assert.Equal(1, root.GetProperty("tokens").GetInt32());
        var rows = root.GetProperty("rows").EnumerateArray().ToArray();
        AssertRecallRows(rows);
        // A one-vector model's proxy is its vector: the float32 proxy search ranks exactly as top-1 matching does.
        Assert.All(rows.Where(r => r.GetProperty("proxies").GetString() == "float32"), r => Assert.Equal(1.0, r.GetProperty("recallTop1").GetDouble()));
    }

    [Fact]
    public async Task Recall_WithASixTokenOnnxModel_ReportsTop1AndBestLevelRecall()
    {
        var folder = Directory.CreateTempSubdirectory("icdiff-recall-model-").FullName;
        var onnx = Path.Combine(folder, "model.onnx");
        await File.WriteAllBytesAsync(onnx, TokenFixtureModel.BuildOnnx(TokenFixture.Regions), TestContext.Current.CancellationToken);
        var manifest = Path.Combine(folder, "model.json");
        await File.WriteAllTextAsync(manifest, ModelManifestJson.Serialize(TokenFixtureModel.CreateManifest(TokenFixture.Regions, onnx), folder), TestContext.Current.CancellationToken);

        using var figures = await CliProcess.RunBenchAsync(TimeSpan.FromMinutes(5), "recall", "--model", manifest, "--gallery", "60", "--generated", "30", "--k", "1", "4", "64");

        Assert.Equal(TokenFixtureModel.NameOf(TokenFixture.Regions), figures.RootElement.GetProperty("model").GetString());
        Assert.Equal(6, figures.RootElement.GetProperty("tokens").GetInt32());
        AssertRecallRows(figures.RootElement.GetProperty("rows").EnumerateArray().ToArray());
    }

    private static void AssertRecallRows(JsonElement[] rows)
    {
        Assert.Equal(6, rows.Length);
        foreach (var proxies in new[] { "float32", "float16" })
        {
            var byK = rows.Where(r => r.GetProperty("proxies").GetString() == proxies).OrderBy(r => r.GetProperty("k").GetInt32()).ToArray();
            var top1 = byK.Select(r => r.GetProperty("recallTop1").GetDouble()).ToArray();
            var bestLevel = byK.Select(r => r.GetProperty("recallBestLevel").GetDouble()).ToArray();
            Assert.All(top1.Concat(bestLevel), v => Assert.InRange(v, 0, 1));
            // A larger k holds a superset of candidates; k = 64 holds the whole 60-image gallery.
            Assert.Equal(top1.Order(), top1);
            Assert.Equal(bestLevel.Order(), bestLevel);
            Assert.Equal(1.0, top1[^1]);
            Assert.Equal(1.0, bestLevel[^1]);
        }
    }
}
