using System.CommandLine;
using System.Globalization;
using Icdiff.Grains;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Runs kept in a data directory: <c>icdiff runs</c> lists them, <c>icdiff resume &lt;run&gt;</c> carries an
/// interrupted run (a killed process, a reboot), a failed or a cancelled one to its end from what it stored, and
/// writes its report; <c>--retry-failed</c> re-runs the items it skipped; <c>--cluster</c> does the same on a cluster.
/// </summary>
internal static class RunsCommand
{
    public static Command CreateList()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory the runs were started with." };
        var command = new Command("runs", "List the audit runs stored in a data directory; `runs export` writes one from the history.") { dataDir, ExportCommand.Create() };
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
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory the run was started with (embedded runs)." };
        var cluster = new ClusterTargetOptions("The cluster's Redis (host:port[,options]), for a run submitted to a cluster.", required: false);
        var retryFailed = new Option<bool>("--retry-failed") { Description = "Also re-run the items the run skipped (read or decode failures); items with a result are kept." };
        var output = new Option<string?>("--out") { Description = "Folder for report.json, matches.csv and report.html." };
        var command = new Command(
            "resume",
            "Carry an interrupted, failed or cancelled run to its end (only items not yet recorded are processed) and write its report; --retry-failed re-runs its skipped items.")
        {
            runId, dataDir, retryFailed, output,
        };
        cluster.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var id = parse.GetValue(runId)!;
            var retry = parse.GetValue(retryFailed);
            var outDirectory = Path.GetFullPath(parse.GetValue(output) ?? "icdiff-report");
            if (cluster.Read(parse) is { } target)
            {
                await using var connection = await ClusterConnection.ConnectAsync(target, ct);
                var clusterRun = connection.Grains.GetGrain<IAuditRunGrain>(id);
                var clusterRequest = await ClusterRetry.RunAsync(clusterRun.GetRequestAsync, ct) ?? throw new CliError($"no run '{id}' on this cluster.");
                return await ResumeAndReportAsync(connection.Grains, id, clusterRequest, retry, outDirectory, ct);
            }

            var folder = Path.GetFullPath(parse.GetValue(dataDir) ?? AuditSession.DefaultDataDirectory);
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

            // The run's corpora must be the ones it audited: a different folder under the same path would mix its files into the recorded results.
            CorpusLocations.RequireSameCorpora(id, record.Request);
            Console.WriteLine($"Run {id}: {record.State} when last stored; resuming with data in {folder}");
            await using var silo = await EmbeddedSilo.StartAsync(folder, ct);
            return await ResumeAndReportAsync(silo.Grains, id, record.Request, retry, outDirectory, ct);
        }));
        return command;
    }

    private static async Task<int> ResumeAndReportAsync(IGrainFactory grains, string id, AuditRequest request, bool retryFailed, string outDirectory, CancellationToken cancellationToken)
    {
        // Activating the run grain resumes a run that was under way; ResumeAsync restarts a failed or cancelled one.
        var run = grains.GetGrain<IAuditRunGrain>(id);
        var status = await ClusterRetry.RunAsync(() => run.ResumeAsync(retryFailed), cancellationToken);
        var report = await AuditRunner.FollowAsync(grains, id, request, status, ProgressDisplay.ForConsole(), cancellationToken);
        await AuditSession.WriteReportAsync(report, request, outDirectory, cancellationToken);
        AuditSession.PrintSummary(report, Console.Out);
        Console.WriteLine($"Report: {Path.Combine(outDirectory, Icdiff.Reporting.ReportWriter.HtmlFile)}");
        return 0;
    }
}
