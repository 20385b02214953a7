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
        var trainingSet = new Option<string?>("--training-set") { Description = "Instead of the demo, write a labelled training set (all six levels, D-Rep style pairs.csv) to this folder, for tools/models/train_pdf_embedding.py." };
        var trainingPairs = new Option<int>("--training-pairs") { Description = "Pairs in the training set, split evenly over the six levels.", DefaultValueFactory = _ => 6000 };
        var trainingSeed = new Option<int>("--training-seed") { Description = "Seed of the training set (any but the demo's own, which keeps it disjoint from the demo's audit; use another seed for a test set).", DefaultValueFactory = _ => 1 };
        var common = new CommonAuditOptions();
        var command = new Command("demo", "Generate a synthetic gallery and model corpora with known replication rates, audit them, compare.") { small, trainingSet, trainingPairs, trainingSeed };
        common.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            if (parse.GetValue(trainingSet) is { } trainingRoot)
            {
                return WriteTrainingSet(Path.GetFullPath(trainingRoot), parse.GetValue(trainingPairs), parse.GetValue(trainingSeed), ct);
            }

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

    private static int WriteTrainingSet(string root, int pairs, int seed, CancellationToken ct)
    {
        if (pairs < 6)
        {
            throw new CliError("--training-pairs must be at least 6 (one pair per level).");
        }

        if (seed == DemoCorpusSpec.DemoSeed)
        {
            throw new CliError($"--training-seed {seed} is the demo's own seed; pick another to keep the training set disjoint from the demo's audit.");
        }

        var spec = DemoCorpusSpec.TrainingSet(pairs, seed);
        Console.WriteLine($"Writing a training set to {root}: {spec.Describe()}");
        var clock = Stopwatch.StartNew();
        DemoCorpusBuilder.Build(root, spec, null, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Training set ready in {clock.Elapsed.TotalSeconds:0.0}s: {Path.Combine(root, DemoCorpus.PairsFile)} ({pairs} pairs, levels 0..5: {string.Join('/', spec.Models[0].LevelCounts)})"));
        return 0;
    }
}
