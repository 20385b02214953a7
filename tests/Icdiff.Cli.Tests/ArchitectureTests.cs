using System.Reflection;

namespace Icdiff.Cli.Tests;

/// <summary>Dependencies point inward: the core knows no adapter, no Orleans; adapters know no host.</summary>
public sealed class ArchitectureTests
{
    private static readonly string[] Adapters = ["Icdiff.Imaging.Skia", "Icdiff.Embedding.Onnx", "Icdiff.Index.Embedded", "Icdiff.Corpora.FileSystem", "Icdiff.Corpora.AzureBlob", "Icdiff.Corpora.Manifest"];

    private static string[] ReferencesOf(string assembly) =>
        [.. Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Icdiff", StringComparison.Ordinal) || n.StartsWith("Orleans", StringComparison.Ordinal))];

    [Fact]
    public void Core_ReferencesNothingOfOurs_AndNoOrleans()
    {
        Assert.Empty(ReferencesOf("Icdiff.Core"));
    }

    [Fact]
    public void Adapters_ReferenceOnlyTheCore()
    {
        foreach (var adapter in Adapters)
        {
            Assert.All(ReferencesOf(adapter), r => Assert.Equal("Icdiff.Core", r));
        }
    }

    [Fact]
    public void Grains_DoNotReferenceAdaptersBackendsOrHosts()
    {
        var references = ReferencesOf("Icdiff.Grains");
        Assert.DoesNotContain(references, r => Adapters.Contains(r) || r is "Icdiff.Index.Milvus" or "Icdiff.History.Sql" or "Icdiff.RunStore.Redis" or "Icdiff.Hosting" or "icdiff" or "icdiff-silo");
        Assert.DoesNotContain(references, r => r.StartsWith("Icdiff.Grains.Index.", StringComparison.Ordinal));
    }

    /// <summary>Each gallery index backend plugs into the grains through their contract, its own vector library and the exact re-ranking over stored tokens only.</summary>
    [Theory]
    [InlineData("Icdiff.Grains.Index.Embedded", "Icdiff.Index.Embedded", "Icdiff.Index.Embedded")]
    [InlineData("Icdiff.Grains.Index.Sharded", "Icdiff.Index.Embedded", "Icdiff.Index.Embedded")]
    [InlineData("Icdiff.Grains.Index.Milvus", "Icdiff.Index.Milvus", "Icdiff.Index.Embedded")]
    public void IndexBackends_ReferenceTheGrainsAndTheirOwnLibrariesOnly(string backend, string library, string reRanking)
    {
        var allowed = new[] { "Icdiff.Grains", "Icdiff.Grains.Abstractions", "Icdiff.Core", library, reRanking };
        var references = ReferencesOf(backend);
        Assert.Contains("Icdiff.Grains", references);
        Assert.All(references.Where(r => r.StartsWith("Icdiff", StringComparison.Ordinal)), r => Assert.Contains(r, allowed));
    }

    /// <summary>The stores are adapters too: the history contract knows no SQL driver, the run store's Redis is its own project.</summary>
    [Fact]
    public void HistoryContract_KnowsNoSqlDriver()
    {
        var references = Assembly.Load("Icdiff.History").GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => r is "Microsoft.Data.Sqlite" or "Npgsql" or "StackExchange.Redis");
        Assert.DoesNotContain("StackExchange.Redis", Assembly.Load("Icdiff.Grains").GetReferencedAssemblies().Select(a => a.Name!));
    }

    /// <summary>The hosts compose the silo in one place; none of them names a backend's grain class itself.</summary>
    [Fact]
    public void Hosts_ComposeTheSiloThroughHosting()
    {
        Assert.Contains("Icdiff.Hosting", ReferencesOf("icdiff"));
        Assert.Contains("Icdiff.Hosting", ReferencesOf("icdiff-silo"));
    }
}
