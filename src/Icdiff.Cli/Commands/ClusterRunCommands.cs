using System.CommandLine;
using System.Globalization;
using Icdiff.Grains;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Runs on a cluster: <c>icdiff status &lt;run&gt; --cluster ...</c> shows progress (and, with <c>--follow</c>, follows the
/// run to its end and writes the report; a run interrupted by a cluster restart resumes when asked), and
/// <c>icdiff cancel &lt;run&gt; --cluster ...</c> stops one.
/// </summary>
internal static class ClusterRunCommands
{
    public static Command CreateStatus()
    {
        var runId = new Argument<string>("run") { Description = "The run id printed when the run was submitted." };
        var cluster = new ClusterTargetOptions("The cluster's Redis (host:port[,options]).", required: true);
        var follow = new Option<bool>("--follow") { Description = "Follow the run to its end and write its report." };
        var output = new Option<string?>("--out") { Description = "Folder for the report when following." };
        var command = new Command("status", "Show a cluster run's progress; --follow waits for its end and writes the report.") { runId, follow, output };
        cluster.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var id = parse.GetValue(runId)!;
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Read(parse)!, ct);
            var run = connection.Grains.GetGrain<IAuditRunGrain>(id);
            // The first call activates the run grain, which resumes a run its cluster lost mid-way.
            var request = await ClusterRetry.RunAsync(run.GetRequestAsync, ct) ?? throw new CliError($"no run '{id}' on this cluster.");
            var status = await ClusterRetry.RunAsync(run.GetStatusAsync, ct);
            var models = string.Join(", ", status.Models.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Model} {m.Done}/{m.Listed}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Run {id}: {status.State}; gallery {status.GalleryDone}/{status.GalleryListed}; {models}"));
            if (status.Workers is { Count: > 0 } workers)
            {
                // What each worker silo did for the coordinator's current activation of the run.
                Console.WriteLine("Workers: " + string.Join(", ", workers.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Silo} scanned {w.ScannedItems}, embedded {w.GalleryItems} ({w.Batches} batches)"))));
            }
            if (!parse.GetValue(follow))
            {
                return status.State == RunState.Failed ? 1 : 0;
            }

            var report = await AuditRunner.FollowAsync(connection.Grains, id, request, status, ProgressDisplay.ForConsole(), ct);
            var outDirectory = Path.GetFullPath(parse.GetValue(output) ?? "icdiff-report");
            await AuditSession.WriteReportAsync(report, request, outDirectory, ct);
            AuditSession.PrintSummary(report, Console.Out);
            Console.WriteLine($"Report: {Path.Combine(outDirectory, Icdiff.Reporting.ReportWriter.HtmlFile)}");
            return 0;
        }));
        return command;
    }

    /// <summary><c>icdiff schedule-run &lt;name&gt; --cluster ...</c>: a schedule's run now (what the Helm chart's CronJob calls).</summary>
    public static Command CreateScheduleRun()
    {
        var name = new Argument<string>("schedule") { Description = "The schedule's name (Icdiff:Scheduling:Schedules:<name> in the silos' settings)." };
        var cluster = new ClusterTargetOptions("The cluster's Redis (host:port[,options]).", required: true);
        var command = new Command("schedule-run", "Start a run of a configured schedule now, over the images new since its last run (a Kubernetes CronJob calls this). Exit 3 when one is already under way.") { name };
        cluster.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var schedule = parse.GetValue(name)!;
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Read(parse)!, ct);
            string? runId;
            try
            {
                runId = await ClusterRetry.RunAsync(connection.Grains.GetGrain<IScheduleGrain>(schedule).RunNowAsync, ct);
            }
            catch (InvalidOperationException ex) when (ex.Message.StartsWith("no schedule", StringComparison.Ordinal))
            {
                throw new CliError(ex.Message, ex);
            }

            if (runId is null)
            {
                Console.Error.WriteLine($"icdiff: schedule '{schedule}' has a run under way; nothing started.");
                return 3;
            }

            Console.WriteLine($"Run {runId}: started by schedule {schedule} (follow it with `icdiff status {runId} --cluster ... --follow`).");
            return 0;
        }));
        return command;
    }

    public static Command CreateCancel()
    {
        var runId = new Argument<string>("run") { Description = "The run id." };
        var cluster = new ClusterTargetOptions("The cluster's Redis (host:port[,options]).", required: true);
        var command = new Command("cancel", "Cancel a cluster run: nothing new is dispatched; shards in flight finish and are kept.") { runId };
        cluster.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var id = parse.GetValue(runId)!;
            await using var connection = await ClusterConnection.ConnectAsync(cluster.Read(parse)!, ct);
            var run = connection.Grains.GetGrain<IAuditRunGrain>(id);
            if (await run.GetRequestAsync() is null)
            {
                throw new CliError($"no run '{id}' on this cluster.");
            }

            await run.CancelAsync();
            Console.WriteLine($"Run {id}: {(await run.GetStatusAsync()).State}");
            return 0;
        }));
        return command;
    }
}
