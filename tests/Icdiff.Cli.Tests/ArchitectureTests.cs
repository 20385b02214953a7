using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

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

    /// <summary>
    /// Read from the core's IL: it names no file-system, network or process type and declares no native import, so
    /// everything it knows arrives through the step contracts (streams, spans, parsed records).
    /// </summary>
    [Fact]
    public void Core_UsesNoIoApi()
    {
        string[] forbidden =
        [
            "System.IO.File", "System.IO.Directory", "System.IO.FileInfo", "System.IO.DirectoryInfo", "System.IO.FileSystemInfo",
            "System.IO.FileStream", "System.IO.RandomAccess", "System.IO.FileSystemWatcher", "System.IO.StreamReader", "System.IO.StreamWriter",
            "System.IO.DriveInfo", "System.IO.MemoryMappedFiles.MemoryMappedFile", "Microsoft.Win32.SafeHandles.SafeFileHandle",
            "System.Diagnostics.Process",
        ];
        using var pe = new PEReader(File.OpenRead(Assembly.Load("Icdiff.Core").Location));
        var metadata = pe.GetMetadataReader();
        var referenced = metadata.TypeReferences
            .Select(h => metadata.GetTypeReference(h))
            .Select(t => $"{metadata.GetString(t.Namespace)}.{metadata.GetString(t.Name)}")
            .ToList();
        Assert.Contains("System.Object", referenced); // the reader sees the references at all
        Assert.DoesNotContain(referenced, t => forbidden.Contains(t) || t.StartsWith("System.Net.", StringComparison.Ordinal));
        var imports = metadata.MethodDefinitions
            .Select(h => metadata.GetMethodDefinition(h))
            .Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0)
            .Select(m => metadata.GetString(m.Name));
        Assert.Empty(imports);
    }

    [Fact]
    public void Adapters_ReferenceOnlyTheCore()
    {
        foreach (var adapter in Adapters)
        {
            Assert.All(ReferencesOf(adapter), r => Assert.Contains(r, new[] { "Icdiff.Core", "Icdiff.Files", "Icdiff.Tabular" }));
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

    /// <summary>
    /// The product CLI holds the user's commands only: no reference to the maintainers' tools, no type of theirs
    /// compiled in, and no <c>bench</c> or <c>calibrate-builtin</c> command (checked on the running program).
    /// </summary>
    [Fact]
    public async Task ProductCli_HoldsNoBenchCode()
    {
        var cli = Assembly.Load("icdiff");
        Assert.DoesNotContain(cli.GetReferencedAssemblies(), a => a.Name is "icdiff-bench");
        Assert.DoesNotContain(cli.GetTypes(), t => t.Namespace?.StartsWith("Icdiff.Bench", StringComparison.Ordinal) == true
            || t.Name.Contains("Bench", StringComparison.Ordinal) || t.Name.StartsWith("Scale", StringComparison.Ordinal) || t.Name is "RecallCommand" or "MemoryCommand" or "VitSizedModel" or "PillowBaseline" or "CalibrateBuiltinCommand");
        foreach (var command in new[] { "bench", "calibrate-builtin" })
        {
            var (code, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(1), command);
            Assert.Equal(2, code);
            Assert.Contains($"'{command}'", stderr, StringComparison.Ordinal);
        }
    }

    /// <summary>The hosts compose the silo in one place; none of them names a backend's grain class itself.</summary>
    [Fact]
    public void Hosts_ComposeTheSiloThroughHosting()
    {
        Assert.Contains("Icdiff.Hosting", ReferencesOf("icdiff"));
        Assert.Contains("Icdiff.Hosting", ReferencesOf("icdiff-silo"));
    }
}
