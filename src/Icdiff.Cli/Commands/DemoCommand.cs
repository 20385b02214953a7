using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Icdiff.Grains;
using Icdiff.Reporting;
using Icdiff.Synthesis;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Synthesises a gallery and three fictional models with known replication rates, audits them with the real
/// pipeline and prints each measured ratio beside its true rate. Exit code 3 when a true rate falls outside
/// its interval, so the demo doubles as an end-to-end check.
/// </summary>
internal static class DemoCommand
{
    public const int TruthOutsideIntervalExitCode = 3;

    public static Command Create()
    {
        var small = new Option<bool>("--small") { Description = "A small corpus instead: 160 gallery images and two models of 40 images each (a quick look; the intervals are wide)." };
        var common = new CommonAuditOptions();
        var command = new Command("demo", "Generate a synthetic gallery and model corpora with known replication rates, audit them, compare.") { small };
        common.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var root = common.OutDirectory(parse, "icdiff-demo");
            var spec = parse.GetValue(small) ? DemoCorpusSpec.Small(42) : DemoCorpusSpec.Default;
            Console.WriteLine($"Synthesising corpus in {Path.Combine(root, "corpus")}: {spec.Describe()}");
            var clock = Stopwatch.StartNew();
            var total = DemoCorpusBuilder.ImageCount(spec);
            var lastShown = 0L;
            var progress = new Progress<int>(done =>
            {
                if (clock.ElapsedMilliseconds - Interlocked.Read(ref lastShown) > 5000 || done == total)
                {
                    Interlocked.Exchange(ref lastShown, clock.ElapsedMilliseconds);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  drawn {done}/{total} images ({done / Math.Max(0.1, clock.Elapsed.TotalSeconds):0} img/s)"));
                }
            });
            var corpus = DemoCorpusBuilder.Build(Path.Combine(root, "corpus"), spec, progress, ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Corpus ready in {clock.Elapsed.TotalSeconds:0.0}s"));

            var generated = spec.Models.Select(m => new ModelCorpus(m.Name, corpus.ModelPaths[m.Name])).ToArray();
            var request = common.ToRequest(parse, corpus.GalleryPath, generated);
            await AuditSession.ValidateAsync(request, ct);
            var dataDirectory = Path.GetFullPath(common.ExplicitDataDirectory(parse) ?? Path.Combine(root, "data"));
            var report = await AuditSession.RunAsync(request, dataDirectory, ct);
            report = report with
            {
                Models = [.. report.Models.Select(m => m with { TrueRate = spec.Models.Single(s => s.Name == m.Summary.Model).TrueRate(request.MinLevel) })],
            };
            var outDirectory = Path.Combine(root, "report");
            await AuditSession.WriteReportAsync(report, request, outDirectory, ct);
            AuditSession.PrintSummary(report, Console.Out);
            Console.WriteLine($"Report: {Path.Combine(outDirectory, ReportWriter.HtmlFile)} (+ {ReportWriter.JsonFile}, {ReportWriter.CsvFile})");
            Console.WriteLine($"History: each demo run adds a point; browse them with `icdiff serve --data-dir {dataDirectory}`.");
            var allInside = report.Models.All(m => m.TrueRate >= m.Summary.Lower && m.TrueRate <= m.Summary.Upper);
            Console.WriteLine(allInside
                ? "Every true rate lies inside its 95% interval."
                : "At least one true rate lies OUTSIDE its 95% interval.");
            return allInside ? 0 : TruthOutsideIntervalExitCode;
        }));
        return command;
    }
}
