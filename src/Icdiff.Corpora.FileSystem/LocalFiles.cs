using Icdiff.Core;

namespace Icdiff.Corpora.FileSystem;

/// <summary>Bounded reads of local files with every failure mapped to a skip reason.</summary>
internal static class LocalFiles
{
    /// <summary>As <see cref="ReadAsync"/>, into a buffer rented from the shared pool.</summary>
    public static async ValueTask<ItemContent> ReadPooledAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
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
            throw Map(ex);
        }
    }

    private static ItemReadException Map(Exception ex) => ex switch
    {
        FileNotFoundException => new ItemReadException(SkipReason.Missing, "file disappeared after it was listed", ex),
        DirectoryNotFoundException => new ItemReadException(SkipReason.Missing, "folder disappeared after it was listed", ex),
        UnauthorizedAccessException => new ItemReadException(SkipReason.ReadFailed, "permission denied", ex),
        EndOfStreamException => new ItemReadException(SkipReason.ReadFailed, "file shrank while it was read", ex),
        _ => new ItemReadException(SkipReason.ReadFailed, ex.Message, ex),
    };

    public static async ValueTask<byte[]> ReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
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
        catch (FileNotFoundException ex)
        {
            throw new ItemReadException(SkipReason.Missing, "file disappeared after it was listed", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new ItemReadException(SkipReason.Missing, "folder disappeared after it was listed", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ItemReadException(SkipReason.ReadFailed, "permission denied", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ItemReadException(SkipReason.ReadFailed, "file shrank while it was read", ex);
        }
        catch (IOException ex)
        {
            throw new ItemReadException(SkipReason.ReadFailed, ex.Message, ex);
        }
    }
}
