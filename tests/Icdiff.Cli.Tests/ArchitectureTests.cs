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
    public void Grains_DoNotReferenceAdaptersOrHosts()
    {
        var references = ReferencesOf("Icdiff.Grains");
        Assert.DoesNotContain(references, r => r is "Icdiff.Imaging.Skia" or "Icdiff.Embedding.Onnx" or "Icdiff.Corpora.FileSystem" or "Icdiff.Cli");
    }
}
