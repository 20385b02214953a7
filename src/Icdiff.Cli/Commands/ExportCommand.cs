using System.CommandLine;
using Icdiff.History;
using Icdiff.History.Sql;

namespace Icdiff.Cli.Commands;

/// <summary><c>icdiff runs export &lt;run&gt; --format csv|json</c>: a run's history outside the dashboard.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var runId = new Argument<string>("run") { Description = "The run id (see `icdiff runs` or the dashboard)." };
        var format = new Option<string>("--format") { Description = "csv: one row per generated image; json: the run, its models, images and skips.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong(RunExporter.Formats);
        var output = new Option<string?>("--out") { Description = "File to write; default: standard output." };
        var dataDir = new Option<string?>("--data-dir") { Description = "The data directory whose history.db holds the run." };
        var postgres = new Option<string?>("--postgres") { Description = "A PostgreSQL connection string: the cluster's history (default: Icdiff__History__Postgres when set)." };
        var command = new Command("export", "Export a run from the history as CSV or JSON.") { runId, format, output, dataDir, postgres };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var options = new HistoryOptions { Postgres = parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable("Icdiff__History__Postgres") };
            var store = SqlRunHistory.Create(options, Path.GetFullPath(parse.GetValue(dataDir) ?? AuditSession.DefaultDataDirectory));
            var id = parse.GetValue(runId)!;
            var file = parse.GetValue(output);
            // A file is written under a temporary name and renamed when complete, so a failed export leaves no half file.
            var temporary = file is null ? null : file + ".tmp";
            try
            {
                await store.MigrateAsync(ct);
                await using (var stream = temporary is null ? Console.OpenStandardOutput() : File.Create(temporary))
                {
                    if (!await RunExporter.WriteAsync(store, id, parse.GetValue(format)!, stream, ct))
                    {
                        throw new CliError($"no run '{id}' in the history {store.Description}.");
                    }
                }

                if (temporary is not null)
                {
                    File.Move(temporary, file!, overwrite: true);
                    Console.Error.WriteLine($"Wrote {file}.");
                }
            }
            catch (HistoryStoreException ex)
            {
                throw new CliError(ex.Message, ex);
            }
            finally
            {
                if (temporary is not null && File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }

            return 0;
        }));
        return command;
    }
}
