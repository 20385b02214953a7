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
    ServeCommand.Create(),
    RunsCommand.CreateResume(),
    ClusterRunCommands.CreateStatus(),
    ClusterRunCommands.CreateCancel(),
    ClusterRunCommands.CreateScheduleRun(),
    CalibrateBuiltinCommand.Create(),
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad command lines get the errors and a pointer to the help, on stderr, not a screen of usage text.
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"icdiff: error: {error.Message}");
    }

    var path = new List<string>();
    for (Command? command = parsed.CommandResult.Command; command is not null && command != root; command = command.Parents.OfType<Command>().FirstOrDefault())
    {
        path.Insert(0, command.Name);
    }

    Console.Error.WriteLine($"See 'icdiff {string.Join(' ', path.Append("--help"))}'.");
    return 2;
}

return await parsed.InvokeAsync();
