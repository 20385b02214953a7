using System.Text;

namespace Icdiff.Index.Embedded;

/// <summary>The file discipline the index and partition files share: a magic and version first, written atomically.</summary>
internal static class IndexFiles
{
    /// <summary>
    /// Writes the header and then <paramref name="body"/> to a temporary file, flushed to disk and renamed over
    /// <paramref name="path"/> last, so a crash mid-write never leaves a half file under the real name.
    /// </summary>
    public static void WriteAtomically(string path, int magic, int version, Action<BinaryWriter> body)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(magic);
            writer.Write(version);
            body(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The first <paramref name="count"/> rows of fixed-size blocks (<paramref name="blockEntries"/> rows of <paramref name="rowLength"/> values each), as their raw bytes.</summary>
    public static void WriteBlocks<T>(BinaryWriter writer, IReadOnlyList<T[]> blocks, int count, int blockEntries, int rowLength)
        where T : unmanaged
    {
        for (var start = 0; start < count; start += blockEntries)
        {
            var entries = Math.Min(blockEntries, count - start);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(blocks[start / blockEntries].AsSpan(0, entries * rowLength)));
        }
    }

    /// <summary>Opens <paramref name="path"/> and reads past its header; a file of another kind or version is an error naming <paramref name="kind"/>.</summary>
    public static BinaryReader OpenChecked(string path, int magic, int version, string kind)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        try
        {
            if (reader.ReadInt32() != magic || reader.ReadInt32() != version)
            {
                throw new InvalidDataException($"'{path}' is not {kind} of this version.");
            }

            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }
}

/// <summary>Removing entries from ordinal-addressed stores in place, keeping the survivors' order.</summary>
internal static class OrdinalCompaction
{
    /// <summary>
    /// Moves every entry of <paramref name="count"/> that <paramref name="keep"/> accepts down to the next free
    /// ordinal (<paramref name="move"/>(from, to), called only when they differ); returns how many are kept.
    /// </summary>
    public static int Compact(int count, Func<int, bool> keep, Action<int, int> move)
    {
        var write = 0;
        for (var read = 0; read < count; read++)
        {
            if (!keep(read))
            {
                continue;
            }

            if (write != read)
            {
                move(read, write);
            }

            write++;
        }

        return write;
    }
}
