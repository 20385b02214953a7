using Icdiff.Core;

namespace Icdiff.Corpora.FileSystem;

/// <summary>Bounded reads of local files with every failure mapped to a skip reason.</summary>
internal static class LocalFiles
{
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
