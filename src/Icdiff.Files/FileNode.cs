using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Icdiff.Files;

/// <summary>What kind of file system node a path names.</summary>
public enum FileNodeKind
{
    Missing,
    RegularFile,
    Directory,
    SymbolicLink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Unknown,
}

/// <summary>
/// The type and identity of a file system node, read with statx(2) without opening it. Opening a FIFO blocks until a
/// writer appears and reading a device never ends (/dev/zero) or never starts (a tty), so a corpus asks first and
/// opens regular files only. .NET's own file APIs expose neither the node type nor the inode, hence the one system
/// call; statx's buffer has the same layout on every Linux architecture, unlike stat's.
/// </summary>
public readonly partial record struct FileNode(FileNodeKind Kind, int Error, ulong Device, ulong Inode, long BirthTicks)
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const uint StatxBirthTime = 0x800;
    private const int Enoent = 2;
    private const int Enotdir = 20;

    public bool Exists => Kind != FileNodeKind.Missing;

    /// <summary>Whether an error other than "no such file" kept the node from being read (permissions on a parent folder, a link loop).</summary>
    public bool Unreadable => Kind == FileNodeKind.Missing && Error is not (0 or Enoent or Enotdir);

    /// <summary>The node at <paramref name="path"/>, following symbolic links unless <paramref name="followLinks"/> is false.</summary>
    public static FileNode Probe(string path, bool followLinks = true)
    {
        if (!OperatingSystem.IsLinux())
        {
            return ProbePortable(path, followLinks);
        }

        Span<byte> buffer = stackalloc byte[256];
        buffer.Clear();
        if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats | StatxBirthTime, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return new FileNode(FileNodeKind.Missing, Marshal.GetLastPInvokeError(), 0, 0, 0);
        }

        // struct statx: stx_mask @0, stx_mode @28 (u16), stx_ino @32, stx_btime @80 (i64 seconds, u32 ns), stx_dev_major/minor @136/@140.
        var mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]);
        var birth = (mask & StatxBirthTime) != 0
            ? (BinaryPrimitives.ReadInt64LittleEndian(buffer[80..]) * TimeSpan.TicksPerSecond) + (BinaryPrimitives.ReadUInt32LittleEndian(buffer[88..]) / 100)
            : 0;
        var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileNodeKind.RegularFile,
            0x4000 => FileNodeKind.Directory,
            0xA000 => FileNodeKind.SymbolicLink,
            0x1000 => FileNodeKind.Fifo,
            0x2000 => FileNodeKind.CharacterDevice,
            0x6000 => FileNodeKind.BlockDevice,
            0xC000 => FileNodeKind.Socket,
            _ => FileNodeKind.Unknown,
        };
        return new FileNode(kind, 0, device, inode, birth);
    }

    /// <summary>What a node that is not a regular file is, in words for a skip reason ("a FIFO (named pipe)").</summary>
    public static string Describe(FileNodeKind kind) => kind switch
    {
        FileNodeKind.Directory => "a directory",
        FileNodeKind.SymbolicLink => "a symbolic link",
        FileNodeKind.Fifo => "a FIFO (named pipe)",
        FileNodeKind.CharacterDevice => "a character device",
        FileNodeKind.BlockDevice => "a block device",
        FileNodeKind.Socket => "a socket",
        FileNodeKind.RegularFile => "a regular file",
        FileNodeKind.Missing => "missing",
        _ => "not a regular file",
    };

    /// <summary>A stable identity of the node: device, inode and (where the file system records it) birth time.</summary>
    public string Identity => string.Create(CultureInfo.InvariantCulture, $"{Device:x}:{Inode:x}:{BirthTicks:x}");

    private static FileNode ProbePortable(string path, bool followLinks)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists)
        {
            return new FileNode(FileNodeKind.Missing, Enoent, 0, 0, 0);
        }

        if (!followLinks && info.LinkTarget is not null)
        {
            return new FileNode(FileNodeKind.SymbolicLink, 0, 0, 0, 0);
        }

        return new FileNode(info is DirectoryInfo ? FileNodeKind.Directory : FileNodeKind.RegularFile, 0, 0, 0, info.CreationTimeUtc.Ticks);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, ref byte buffer);
}
