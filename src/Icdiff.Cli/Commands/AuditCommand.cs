using System.CommandLine;
using Icdiff.Core;
using Icdiff.Grains;
using Icdiff.Reporting;

namespace Icdiff.Cli.Commands;

internal static class AuditCommand
{
    public static Command Create()
    {
        var gallery = new Option<string>("--gallery") { Description = "Gallery (training / reference) images: a folder, az://account/container[/prefix], or a manifest (.csv, .jsonl, .parquet).", Required = true };
        var generated = new Option<string[]>("--generated") { Description = "A model's generated images: <model>=<folder | az://... | manifest[#model=name]>. Repeat per model.", AllowMultipleArgumentsPerToken = false };
        var generatedManifest = new Option<string?>("--generated-manifest") { Description = "A manifest whose 'model' column names the model of each row: one corpus per model." };
        var cluster = new ClusterTargetOptions("Submit the run to a running cluster through its Redis (host:port[,options]) instead of an embedded silo.", required: false);
        var common = new CommonAuditOptions();
        var command = new Command("audit", "Audit generated images against a gallery and report each model's replication ratio.") { gallery, generated, generatedManifest };
        cluster.AddTo(command);
        common.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var models = await AuditSession.ParseGeneratedAsync(parse.GetValue(generated) ?? [], parse.GetValue(generatedManifest), ct);
            var request = common.ToRequest(parse, parse.GetValue(gallery)!, models);
            await AuditSession.ValidateAsync(request, ct);
            var report = cluster.Read(parse) is { } target
                ? await AuditSession.RunOnClusterAsync(request, target, ct)
                : await AuditSession.RunAsync(request, common.DataDirectory(parse), ct);
            var outDirectory = common.OutDirectory(parse, "icdiff-report");
            await AuditSession.WriteReportAsync(report, request, outDirectory, ct);
            AuditSession.PrintSummary(report, Console.Out);
            Console.WriteLine($"Report: {Path.Combine(outDirectory, ReportWriter.HtmlFile)} (+ {ReportWriter.JsonFile}, {ReportWriter.CsvFile})");
            var gc = GC.GetGCMemoryInfo();
            Console.WriteLine($"Peak memory: {Environment.WorkingSet / (1024 * 1024)} MB now, {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MB at most (managed heap {gc.HeapSizeBytes / (1024 * 1024)} MB, largest {gc.PromotedBytes / (1024 * 1024)} MB promoted)");
            return 0;
        }));
        return command;
    }
}
