using System.CommandLine;
using Icdiff.Cli;
using Icdiff.Cli.Commands;

// The user's commands only: the maintainers' benchmarks and the built-in model's calibration are icdiff-bench (tools/).
var root = new RootCommand("icdiff: audits diffusion models for replication of gallery images (ICDiff method).")
{
    AuditCommand.Create(),
    DemoCommand.Create(),
    EvalCommand.Create(),
    CalibrateCommand.Create(),
    ModelCommand.Create(),
    RunsCommand.CreateList(),
    ServeCommand.Create(),
    RunsCommand.CreateResume(),
    ClusterRunCommands.CreateStatus(),
    ClusterRunCommands.CreateCancel(),
    ClusterRunCommands.CreateScheduleRun(),
};
return await CommandLineEntry.InvokeAsync(root, "icdiff", args);
