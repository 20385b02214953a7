using System.Diagnostics;
using System.Text.Json;

namespace Icdiff.Tests.Shared;

/// <summary>Runs the built icdiff CLI (or the maintainers' icdiff-bench) as a child process, the way a user does, with a time limit.</summary>
internal static class CliProcess
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args) =>
        RunAsync(timeout, null, null, args);

    /// <summary>Runs <c>icdiff-bench</c> with <paramref name="args"/>.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunBenchToolAsync(TimeSpan timeout, params string[] args) =>
        RunExecutableAsync(timeout, "icdiff-bench.dll", null, null, args);

    /// <summary>
    /// Runs <c>icdiff-bench &lt;subcommand&gt;</c> in a fresh work folder, requires it to succeed, prints its output to the
    /// test log and returns the figures it wrote (the caller disposes them).
    /// </summary>
    public static async Task<JsonDocument> RunBenchAsync(TimeSpan timeout, string subcommand, params string[] args)
    {
        var work = Directory.CreateTempSubdirectory($"icdiff-bench-{subcommand}-").FullName;
        var json = Path.Combine(work, "figures.json");
        var (code, stdout, stderr) = await RunBenchToolAsync(timeout, [subcommand, .. args, "--work", work, "--out", json]);
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        TestContext.Current.TestOutputHelper?.WriteLine(stdout);
        return JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
    }

    /// <summary>Runs with extra environment variables, calling <paramref name="onStdoutLine"/> for each line as it is printed.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, Action<string>? onStdoutLine, params string[] args) =>
        RunExecutableAsync(timeout, "icdiff.dll", environment, onStdoutLine, args);

    /// <summary>Runs in <paramref name="workingDirectory"/> (relative paths in <paramref name="args"/> resolve there).</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunInAsync(TimeSpan timeout, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunExecutableAsync(timeout, "icdiff.dll", environment, null, args, workingDirectory);

    /// <summary>Runs another program of the output folder (the silo host, say) the same way.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunExecutableAsync(TimeSpan timeout, string assembly, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunExecutableAsync(timeout, assembly, environment, null, args);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunExecutableAsync(TimeSpan timeout, string assembly, IReadOnlyDictionary<string, string>? environment, Action<string>? onStdoutLine, string[] args, string? workingDirectory = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assembly);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = ReadLinesAsync(process.StandardOutput, onStdoutLine);
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{assembly} {string.Join(' ', args)} did not finish within {timeout}; output so far: {await stdout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task<string> ReadLinesAsync(StreamReader reader, Action<string>? onLine)
    {
        var all = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            all.Append(line).Append('\n');
            onLine?.Invoke(line);
        }

        return all.ToString();
    }
}
