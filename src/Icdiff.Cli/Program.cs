using System.CommandLine;
using Icdiff.Cli.Commands;

var root = new RootCommand("icdiff: audits diffusion models for replication of gallery images (ICDiff method).")
{
    AuditCommand.Create(),
    DemoCommand.Create(),
    EvalCommand.Create(),
    CalibrateCommand.Create(),
    ModelCommand.Create(),
    BenchCommand.Create(),
    RunsCommand.CreateList(),
    RunsCommand.CreateResume(),
    ClusterRunCommands.CreateStatus(),
    ClusterRunCommands.CreateCancel(),
    CalibrateBuiltinCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
