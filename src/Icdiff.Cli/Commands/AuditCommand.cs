using System.CommandLine;
using Icdiff.Core;
using Icdiff.Grains;
using Icdiff.Reporting;

namespace Icdiff.Cli.Commands;

internal static class AuditCommand
{
    public static Command Create()
    {
        var gallery = new Option<string>("--gallery") { Description = "Folder of gallery (training / reference) images.", Required = true };
        var generated = new Option<string[]>("--generated") { Description = "A model's generated images: <model>=<folder>. Repeat per model.", Required = true, AllowMultipleArgumentsPerToken = false };
        var common = new CommonAuditOptions();
        var command = new Command("audit", "Audit generated images against a gallery and report each model's replication ratio.") { gallery, generated };
        common.AddTo(command);
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var request = common.ToRequest(parse, parse.GetValue(gallery)!, AuditSession.ParseGenerated(parse.GetValue(generated) ?? []));
            await AuditSession.ValidateAsync(request, ct);
            var report = await AuditSession.RunAsync(request, common.DataDirectory(parse), ct);
            var outDirectory = common.OutDirectory(parse, "icdiff-report");
            AuditSession.WriteReport(report, request, outDirectory);
            AuditSession.PrintSummary(report, Console.Out);
            Console.WriteLine($"Report: {Path.Combine(outDirectory, ReportWriter.HtmlFile)} (+ {ReportWriter.JsonFile}, {ReportWriter.CsvFile})");
            return 0;
        }));
        return command;
    }
}
