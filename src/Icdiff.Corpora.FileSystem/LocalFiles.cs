using Icdiff.Core;
using Icdiff.Files;

namespace Icdiff.Corpora.FileSystem;

/// <summary>Bounded reads of local files with every failure mapped to a skip reason.</summary>
internal static class LocalFiles
{
    /// <summary>As <see cref="ReadAsync"/>, into a buffer rented from the shared pool.</summary>
    public static async ValueTask<ItemContent> ReadPooledAsync(string path, long maxBytes, bool listed, CancellationToken cancellationToken)
    {
        RequireRegularFile(path, listed);
        try
        {
            // Synchronous reads: page-cache hits are faster than the thread hops of emulated async file I/O on Linux.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var length = stream.Length;
            if (length > maxBytes)
            {
                throw new ItemReadException(SkipReason.TooLarge, $"file is {length} bytes; the limit is {maxBytes}");
            }

            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, (int)length), cancellationToken);
                return new ItemContent(buffer, (int)length, pooled: true);
            }
            catch
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or EndOfStreamException or IOException)
        {
            throw Map(ex, listed);
        }
    }

    public static async ValueTask<byte[]> ReadAsync(string path, long maxBytes, bool listed, CancellationToken cancellationToken)
    {
        RequireRegularFile(path, listed);
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var length = stream.Length;
            if (length > maxBytes)
            {
                throw new ItemReadException(SkipReason.TooLarge, $"file is {length} bytes; the limit is {maxBytes}");
            }

            var buffer = new byte[length];
            await stream.ReadExactlyAsync(buffer, cancellationToken);
            return buffer;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or EndOfStreamException or IOException)
        {
            throw Map(ex, listed);
        }
    }

    /// <summary>
    /// Refuses anything but a regular file before it is opened: opening a FIFO blocks until a writer comes, a device
    /// reads forever (/dev/zero) or never (a terminal), a directory is not an image. Links are followed, so a link to
    /// a device is refused as the device. The node could still be swapped between this check and the open; the
    /// pipeline's read time limit bounds that case.
    /// </summary>
    private static void RequireRegularFile(string path, bool listed)
    {
        var node = FileNode.Probe(path);
        if (node.Kind == FileNodeKind.RegularFile)
        {
            return;
        }

        if (node.Kind != FileNodeKind.Missing)
        {
            throw new ItemReadException(SkipReason.NotARegularFile, $"{FileNode.Describe(node.Kind)}, not a regular file; not opened");
        }

        if (node.Unreadable)
        {
            throw new ItemReadException(SkipReason.ReadFailed, "its folder cannot be searched (permission denied) or its links loop");
        }

        throw Missing(listed, new FileNotFoundException(null, path));
    }

    /// <summary>
    /// A folder's file that is gone was there when the folder was listed; a manifest's row may name a file that never
    /// existed, so its message does not claim it disappeared.
    /// </summary>
    private static ItemReadException Missing(bool listed, Exception ex) => listed
        ? new ItemReadException(SkipReason.Missing, "file disappeared after it was listed", ex)
        : new ItemReadException(SkipReason.Missing, "no file at the path the manifest names", ex);

    private static ItemReadException Map(Exception ex, bool listed) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => Missing(listed, ex),
        UnauthorizedAccessException => new ItemReadException(SkipReason.ReadFailed, "permission denied", ex),
        EndOfStreamException => new ItemReadException(SkipReason.ReadFailed, "file shrank while it was read", ex),
        _ => new ItemReadException(SkipReason.ReadFailed, ex.Message, ex),
    };
}
