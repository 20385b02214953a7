namespace Icdiff.Cli.Tests;

/// <summary>
/// Exact duplicates in the gallery (byte copies, identical re-encodes) score alike against every generated image, so
/// the best match among them is a tie. The tie goes to the smallest gallery key, whatever order the gallery was
/// indexed in: folder order one image per batch, and a shuffled manifest of the same files three per batch, give the
/// same matches.csv. The cluster half of this check is in <see cref="ClusterTests"/>.
/// </summary>
public sealed class DuplicateGalleryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DuplicateGalleryImages_IndexedInDifferentOrders_GiveIdenticalMatches_UnderTheSmallestKey()
    {
        var root = Directory.CreateTempSubdirectory("icdiff-ties-").FullName;
        var corpus = DuplicateGallery.Build(Path.Combine(root, "corpus"));

        var byFolder = await AuditAsync(root, "folder", corpus.GalleryPath, corpus.GeneratedPath, 1);
        var byManifest = await AuditAsync(root, "manifest", corpus.ShuffledManifest, corpus.GeneratedPath, 3);

        corpus.AssertMatchesTakeTheSmallestKey(byFolder);
        Assert.Equal(byFolder, byManifest);
    }

    /// <summary>An embedded audit as a user runs it, with its own data directory (so its own gallery index); returns matches.csv.</summary>
    internal static async Task<string[]> AuditAsync(string root, string name, string gallery, string generated, int shardSize)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(3), "audit", "--gallery", gallery, "--generated", $"model-a={generated}",
            "--shard-size", shardSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", Path.Combine(root, name), "--data-dir", Path.Combine(root, name + "-data"));
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        return await File.ReadAllLinesAsync(Path.Combine(root, name, "matches.csv"), Token);
    }
}
