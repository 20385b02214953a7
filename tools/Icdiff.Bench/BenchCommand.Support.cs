namespace Icdiff.Bench;

/// <summary>What every stage shares: timing, medians, the Python baselines, the tools folder.</summary>
internal static partial class BenchCommand
{
    private static double Throughput(int batch, Action run, TimeSpan? duration = null)
    {
        run();
        var clock = Stopwatch.StartNew();
        var done = 0;
        while (clock.Elapsed < (duration ?? TimeSpan.FromSeconds(2)))
        {
            run();
            done += batch;
        }

        return done / clock.Elapsed.TotalSeconds;
    }

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static double? MedianOrNull(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count == 0 ? null : MedianOf(present);
    }

    private static JsonElement? RunPython(string script, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        // Some machines pin OpenBLAS to a conservative kernel through these; a baseline must run at full speed.
        start.Environment.Remove("OPENBLAS_CORETYPE");
        start.Environment.Remove("OPENBLAS_L2_SIZE");
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEnd();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"  (baseline unavailable: {stderr.Trim().Split('\n').LastOrDefault()})");
                return null;
            }

            return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.WriteLine($"  (baseline unavailable: /usr/bin/python3: {ex.Message})");
            return null;
        }
    }

    internal static string ToolsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "tools", "bench")))
            {
                return Path.Combine(dir.FullName, "tools");
            }
        }

        throw new CliError("bench needs the repository's tools/ folder (run it from a checkout).");
    }

    private static string Show(double? value, string format = "0") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Ratio(double ours, double? baseline) => baseline is { } b && b > 0 ? (ours / b).ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
}
