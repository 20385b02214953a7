using System.Diagnostics;

namespace Icdiff.Tests.Shared;

/// <summary>Real nodes that are not regular files, for tests of the refusal to open them.</summary>
internal static class SpecialFiles
{
    /// <summary>Why the tests of special files skip here, or null on Linux (FIFOs via coreutils' mkfifo, /dev/zero and /dev/null).</summary>
    public static string? SkipReason => OperatingSystem.IsLinux() && File.Exists("/dev/zero") ? null : "FIFOs and device links need Linux";

    /// <summary>Creates a FIFO (named pipe) at <paramref name="path"/> with coreutils' mkfifo.</summary>
    public static string MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false, RedirectStandardError = true })!;
        var error = mkfifo.StandardError.ReadToEnd();
        mkfifo.WaitForExit();
        return mkfifo.ExitCode == 0 ? path : throw new InvalidOperationException($"mkfifo {path} failed: {error}");
    }
}
