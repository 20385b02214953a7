using System.Globalization;
using Icdiff.Grains;

namespace Icdiff.Cli;

/// <summary>
/// One live status line (images/s, done/total, ETA) on a terminal; on redirected output a plain line every few
/// seconds instead, so logs of nightly runs stay readable.
/// </summary>
internal sealed class ProgressDisplay(TextWriter output, bool interactive)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);
    private TimeSpan? _lastLogged;
    private string _lastPhase = string.Empty;
    private (TimeSpan At, int Done) _phaseStart;

    public static ProgressDisplay ForConsole() => new(Console.Out, !Console.IsOutputRedirected);

    public void Update(RunStatus status, TimeSpan elapsed)
    {
        var line = Describe(status, elapsed);
        if (interactive)
        {
            output.Write("\r" + line.PadRight(Math.Min(118, Math.Max(line.Length, 100))));
        }
        else if (_lastLogged is not { } last || elapsed - last >= LogInterval)
        {
            output.WriteLine(line);
            _lastLogged = elapsed;
        }
    }

    public void Finish(RunStatus status, TimeSpan elapsed)
    {
        if (interactive)
        {
            output.Write("\r" + new string(' ', 118) + "\r");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Run {status.RunId} {status.State.ToString().ToLowerInvariant()} in {elapsed.TotalSeconds:0.0}s"));
    }

    private string Describe(RunStatus status, TimeSpan elapsed)
    {
        string phase;
        int done;
        int listed;
        bool listingComplete;
        if (status.State is RunState.Pending or RunState.IndexingGallery)
        {
            phase = "indexing gallery";
            done = status.GalleryDone;
            listed = status.GalleryListed;
            listingComplete = status.GalleryListingComplete;
        }
        else
        {
            phase = "scanning models";
            done = status.Models.Sum(m => m.Done);
            listed = status.Models.Sum(m => m.Listed);
            listingComplete = status.Models.All(m => m.ListingComplete);
        }

        if (phase != _lastPhase)
        {
            _lastPhase = phase;
            _phaseStart = (elapsed, done);
        }

        var seconds = (elapsed - _phaseStart.At).TotalSeconds;
        var rate = seconds > 0.5 ? (done - _phaseStart.Done) / seconds : 0;
        var total = listingComplete ? listed.ToString(CultureInfo.InvariantCulture) : listed.ToString(CultureInfo.InvariantCulture) + "+";
        var eta = listingComplete && rate > 0 ? TimeSpan.FromSeconds((listed - done) / rate).ToString(@"mm\:ss", CultureInfo.InvariantCulture) : "--:--";
        return string.Create(CultureInfo.InvariantCulture, $"{phase}: {done}/{total} images, {rate:0} img/s, ETA {eta}, elapsed {elapsed:mm\\:ss}");
    }
}
