using System.Diagnostics;

namespace Icdiff.Embedding.Onnx.Tests;

/// <summary>Runs the repository's Python model tools with Debian's PyTorch (/usr/bin/python3).</summary>
internal static class PythonTools
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is not installed";
        }

        var (code, _, stderr) = Run(TimeSpan.FromMinutes(2), "-c", "import torch, torchvision, onnx, PIL, numpy");
        return code == 0 ? null : $"Debian's python3-torch/python3-torchvision/python3-onnx/python3-pil are not installed ({stderr.Trim().Split('\n').LastOrDefault()}); .ci/run installs them";
    });

    /// <summary>Null when PyTorch and friends are there; otherwise why not, for a skip message.</summary>
    public static string? MissingReason => Missing.Value;

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Script(string name) => Path.Combine(RepositoryRoot, "tools", "models", name);

    public static (int ExitCode, string Stdout, string Stderr) Run(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // Both cores of the CI machine; without a cap PyTorch may oversubscribe them with its own pools.
        start.Environment["OMP_NUM_THREADS"] = "2";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python {string.Join(' ', args)} did not finish within {timeout}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Icdiff.Distributed.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
