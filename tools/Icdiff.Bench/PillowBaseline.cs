namespace Icdiff.Bench;

/// <summary>
/// The Pillow decode baseline as a warm worker (<c>tools/bench/pillow_decode.py --serve</c>, with its own pool of
/// one process per core), asked for one measurement at a time so the benchmark can pair it with ours under the same
/// machine load. Where Python or Pillow is missing the first failure is printed once and every figure is null.
/// </summary>
internal sealed class PillowBaseline : IDisposable
{
    private readonly Process _process;
    private bool _failed;

    private PillowBaseline(Process process) => _process = process;

    public static PillowBaseline? TryStart(string script, PreprocessSpec spec)
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { script, "--serve", "--width", spec.Width.ToString(CultureInfo.InvariantCulture), "--height", spec.Height.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            return new PillowBaseline(Process.Start(start)!);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.WriteLine($"  (Pillow baseline unavailable: /usr/bin/python3: {ex.Message})");
            return null;
        }
    }

    /// <summary>Images/s of Pillow on <paramref name="files"/>, on one core (<c>single</c>) or all (<c>all</c>).</summary>
    public double? Measure(string mode, IReadOnlyList<string> files)
    {
        if (_failed)
        {
            return null;
        }

        try
        {
            _process.StandardInput.WriteLine(JsonSerializer.Serialize(new { mode, files }));
            _process.StandardInput.Flush();
            var line = _process.StandardOutput.ReadLine();
            if (line is not null)
            {
                using var answer = JsonDocument.Parse(line);
                return answer.RootElement.GetProperty("rate").GetDouble();
            }
        }
        catch (IOException)
        {
            // The worker died (for example on a missing module): reported below with its own last words.
        }

        _failed = true;
        var stderr = _process.WaitForExit(TimeSpan.FromSeconds(5)) ? _process.StandardError.ReadToEnd().Trim() : string.Empty;
        Console.WriteLine($"  (Pillow baseline unavailable: {(stderr.Length > 0 ? stderr.Split('\n')[^1] : "no answer")})");
        return null;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // Already gone: a worker that died (a missing module) leaves a broken pipe behind, which closing flushes into.
        }

        _process.Dispose();
    }
}
