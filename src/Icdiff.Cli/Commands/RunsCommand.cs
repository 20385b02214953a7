using System.CommandLine;
using System.Globalization;
using Icdiff.Grains;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Runs kept in a data directory: <c>icdiff runs</c> lists them, <c>icdiff resume &lt;run&gt;</c> carries an
/// interrupted run (a killed process, a reboot) to its end from what it stored, and writes its report.
/// </summary>
internal static class RunsCommand
{
    public static Command CreateList()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory the runs were started with." };
        var command = new Command("runs", "List the audit runs stored in a data directory.") { dataDir };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(dataDir) ?? AuditSession.DefaultDataDirectory);
            var runs = await new FileRunStore(folder).ListRunsAsync();
            if (runs.Count == 0)
            {
                Console.WriteLine($"No runs in {folder}.");
                return 0;
            }

            Console.WriteLine($"{"run",-26} {"state",-16} {"started (UTC)",-20} {"finished (UTC)",-20} models");
            foreach (var run in runs)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run.RunId,-26} {run.State,-16} {run.StartedAt.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {(run.FinishedAt is { } f ? f.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-"),-20} {string.Join(", ", run.Request.Generated.Select(m => m.Model))}"));
            }

            return 0;
        }));
        return command;
    }

    public static Command CreateResume()
    {
        var runId = new Argument<string>("run") { Description = "The run id printed when the run started (see `icdiff runs`)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory the run was started with." };
        var output = new Option<string?>("--out") { Description = "Folder for report.json, matches.csv and report.html." };
        var command = new Command("resume", "Carry an interrupted run to its end (only work not yet stored is redone) and write its report.") { runId, dataDir, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var folder = Path.GetFullPath(parse.GetValue(dataDir) ?? AuditSession.DefaultDataDirectory);
            var id = parse.GetValue(runId)!;
            RunRecord? record;
            try
            {
                record = await new FileRunStore(folder).LoadRunAsync(id);
            }
            catch (ArgumentException ex)
            {
                throw new CliError($"'{id}' is not a run id.", ex);
            }

            if (record is null)
            {
                throw new CliError($"no run '{id}' in {folder} (see `icdiff runs --data-dir {folder}`).");
            }

            Console.WriteLine($"Run {id}: {record.State} when last stored; resuming with data in {folder}");
            await using var silo = await EmbeddedSilo.StartAsync(folder, ct);
            // Activating the run grain resumes the run from its stored state.
            var status = await silo.Grains.GetGrain<IAuditRunGrain>(id).GetStatusAsync();
            var report = await AuditRunner.FollowAsync(silo.Grains, id, record.Request, status, ProgressDisplay.ForConsole(), ct);
            var outDirectory = Path.GetFullPath(parse.GetValue(output) ?? "icdiff-report");
            await AuditSession.WriteReportAsync(report, record.Request, outDirectory, ct);
            AuditSession.PrintSummary(report, Console.Out);
            Console.WriteLine($"Report: {Path.Combine(outDirectory, Icdiff.Reporting.ReportWriter.HtmlFile)}");
            return 0;
        }));
        return command;
    }
}
