using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Corpora.Manifest;
using Icdiff.Tests.Shared;

namespace Icdiff.Corpora.Tests;

/// <summary>
/// FIFOs, device links, sockets and directories where an image is expected: refused before they are opened (opening a
/// FIFO would block the read until a writer came, /dev/zero would never end), for folder corpora, manifest rows and a
/// manifest that is itself a FIFO. Every read is given a deadline, so a regression fails here instead of hanging.
/// </summary>
public sealed class NonRegularFileTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FolderCorpus_FifoAndDeviceLinks_AreListed_ThenRefusedAsNotARegularFile_WithoutOpening()
    {
        Assert.SkipWhen(SpecialFiles.SkipReason is not null, SpecialFiles.SkipReason ?? "");
        var folder = Directory.CreateTempSubdirectory("icdiff-nodes-").FullName;
        File.WriteAllBytes(Path.Combine(folder, "ok.png"), [1, 2, 3]);
        SpecialFiles.MakeFifo(Path.Combine(folder, "pipe.jpg"));
        File.CreateSymbolicLink(Path.Combine(folder, "zero.png"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(folder, "null.png"), "/dev/null");
        File.CreateSymbolicLink(Path.Combine(folder, "gone.png"), Path.Combine(folder, "never-there.png"));
        var source = new LocalFolderCorpus(folder);

        var items = new Dictionary<string, CorpusItem>(StringComparer.Ordinal);
        await foreach (var item in source.ListAsync(Token))
        {
            items[item.Key] = item;
        }

        Assert.Equal(["gone.png", "null.png", "ok.png", "pipe.jpg", "zero.png"], items.Keys.Order(StringComparer.Ordinal));
        using (var ok = await source.ReadContentAsync(items["ok.png"], 1024, Token).AsTask().WaitAsync(Deadline, Token))
        {
            Assert.Equal(3, ok.Length);
        }

        foreach (var (key, what) in new[] { ("pipe.jpg", "a FIFO (named pipe)"), ("zero.png", "a character device"), ("null.png", "a character device") })
        {
            var pooled = await Assert.ThrowsAsync<ItemReadException>(() => source.ReadContentAsync(items[key], 1024, Token).AsTask().WaitAsync(Deadline, Token));
            Assert.Equal(SkipReason.NotARegularFile, pooled.Reason);
            Assert.Equal($"{what}, not a regular file; not opened", pooled.Message);
            var whole = await Assert.ThrowsAsync<ItemReadException>(() => source.ReadAsync(items[key], 1024, Token).AsTask().WaitAsync(Deadline, Token));
            Assert.Equal(SkipReason.NotARegularFile, whole.Reason);
        }

        var gone = await Assert.ThrowsAsync<ItemReadException>(() => source.ReadContentAsync(items["gone.png"], 1024, Token).AsTask().WaitAsync(Deadline, Token));
        Assert.Equal(SkipReason.Missing, gone.Reason);
        Assert.Equal("file disappeared after it was listed", gone.Message);
    }

    [Fact]
    public async Task ManifestRows_NamingAFifoADeviceADirectoryOrNothing_AreSkippedWithWhatTheyAre()
    {
        Assert.SkipWhen(SpecialFiles.SkipReason is not null, SpecialFiles.SkipReason ?? "");
        var folder = Directory.CreateTempSubdirectory("icdiff-nodes-manifest-").FullName;
        SpecialFiles.MakeFifo(Path.Combine(folder, "pipe.jpg"));
        Directory.CreateDirectory(Path.Combine(folder, "a-folder.png"));
        File.WriteAllBytes(Path.Combine(folder, "ok.png"), [7]);
        var manifest = Path.Combine(folder, "rows.csv");
        await File.WriteAllLinesAsync(manifest, ["uri", "ok.png", "pipe.jpg", "/dev/zero", "a-folder.png", "never-existed.png"], Token);
        var source = new ManifestCorpusProvider([new LocalFileContentReader()]).Open(manifest);

        var outcomes = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var item in source.ListAsync(Token))
        {
            try
            {
                var bytes = await source.ReadAsync(item, 1024, Token).AsTask().WaitAsync(Deadline, Token);
                outcomes[item.Key] = $"read {bytes.Length}";
            }
            catch (ItemReadException ex)
            {
                outcomes[item.Key] = $"{ex.Reason}: {ex.Message}";
            }
        }

        Assert.Equal("read 1", outcomes["ok.png"]);
        Assert.Equal("NotARegularFile: a FIFO (named pipe), not a regular file; not opened", outcomes["pipe.jpg"]);
        Assert.Equal("NotARegularFile: a character device, not a regular file; not opened", outcomes["/dev/zero"]);
        Assert.Equal("NotARegularFile: a directory, not a regular file; not opened", outcomes["a-folder.png"]);
        // The row never named an existing file: it did not "disappear after it was listed".
        Assert.Equal("Missing: no file at the path the manifest names", outcomes["never-existed.png"]);
    }

    [Theory]
    [InlineData("list.csv")]
    [InlineData("list.jsonl")]
    public async Task AManifestThatIsItselfAFifo_IsRefusedAtOnce_NamingWhatItIs(string name)
    {
        Assert.SkipWhen(SpecialFiles.SkipReason is not null, SpecialFiles.SkipReason ?? "");
        var fifo = SpecialFiles.MakeFifo(Path.Combine(Directory.CreateTempSubdirectory("icdiff-fifo-manifest-").FullName, name));

        var open = Assert.Throws<CorpusException>(() => new ManifestCorpusProvider([new LocalFileContentReader()]).Open(fifo));
        var models = await Assert.ThrowsAsync<CorpusException>(() => ManifestCorpusProvider.ModelsAsync(fifo, Token).WaitAsync(Deadline, Token));

        Assert.Equal($"manifest '{fifo}' is a FIFO (named pipe), not a regular file.", open.Message);
        Assert.Equal($"manifest '{fifo}' is a FIFO (named pipe), not a regular file.", models.Message);
    }
}
