namespace Icdiff.Grains;

/// <summary>
/// The snapshot files of one index folder (the embedded index, or one partition): each seal writes a new
/// <c>index-*.bin</c>, then replaces the "current" pointer atomically, so a reader of an earlier snapshot is never
/// disturbed and a crash mid-save leaves the previous snapshot in place. Superseded files are kept for
/// <see cref="Retention"/> (runs still scanning them may load them on a new silo), then deleted at a later seal.
/// </summary>
public static class SnapshotFiles
{
    private const string PointerFile = "current";

    /// <summary>How long a superseded snapshot file is kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    /// <summary>A new snapshot file name in <paramref name="folder"/> (created if missing).</summary>
    public static string NewFile(string folder)
    {
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, $"index-{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}.bin");
    }

    /// <summary>Points "current" at <paramref name="file"/> (with <paramref name="fingerprint"/>) and deletes expired snapshots.</summary>
    public static void Publish(string folder, string file, string fingerprint)
    {
        var pointer = Path.Combine(folder, PointerFile);
        File.WriteAllText(pointer + ".tmp", Path.GetFileName(file) + "\n" + fingerprint);
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        foreach (var old in Directory.EnumerateFiles(folder, "index-*.bin"))
        {
            if (old != file && DateTime.UtcNow - File.GetLastWriteTimeUtc(old) > Retention)
            {
                TryDelete(old);
            }
        }
    }

    /// <summary>The file "current" points at, or null when the folder has no pointer yet.</summary>
    public static string? Current(string folder)
    {
        var pointer = Path.Combine(folder, PointerFile);
        return File.Exists(pointer) ? Path.Combine(folder, File.ReadAllLines(pointer)[0]) : null;
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Left for the next seal; an extra file costs disk, not correctness.
        }
    }
}
