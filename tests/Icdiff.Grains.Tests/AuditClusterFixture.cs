namespace Icdiff.Grains.Tests;

/// <summary>A two-silo in-process cluster running the real grains, pipeline, decoder and ONNX model, over a small synthetic corpus.</summary>
public sealed class AuditClusterFixture() : DemoClusterFixture(DataDirectory, 11)
{
    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-grains-{Guid.NewGuid():N}");

    /// <summary>Bad files added to model-a's folder, with the reason each must be skipped for.</summary>
    public IReadOnlyDictionary<string, string> BadFiles { get; } = new Dictionary<string, string>
    {
        ["zero-bytes.png"] = "Empty",
        ["not-an-image.jpg"] = "NotAnImage",
        ["truncated.png"] = "Truncated",
    };

    protected override async Task PrepareAsync()
    {
        var modelA = Corpus.ModelPaths["model-a"];
        await File.WriteAllBytesAsync(Path.Combine(modelA, "zero-bytes.png"), []);
        await File.WriteAllTextAsync(Path.Combine(modelA, "not-an-image.jpg"), "<html>hello</html>");
        var png = await File.ReadAllBytesAsync(Directory.EnumerateFiles(modelA, "*.png").First());
        await File.WriteAllBytesAsync(Path.Combine(modelA, "truncated.png"), png.AsSpan(0, png.Length / 2).ToArray());
    }

    protected override Task<TestCluster> DeployAsync() => TestClusters.DeployAsync<SiloConfigurator>(2);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o => o.DataDirectory = DataDirectory);
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(5));
            siloBuilder.AddAuditSilo(LogLevel.Warning);
        }
    }
}
