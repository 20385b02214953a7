using System.CommandLine;

namespace Icdiff.Cli;

/// <summary>The entry point both command lines share (<c>icdiff</c> and the maintainers' <c>icdiff-bench</c>).</summary>
internal static class CommandLineEntry
{
    public static async Task<int> InvokeAsync(RootCommand root, string program, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count == 0)
        {
            return await parsed.InvokeAsync();
        }

        // Bad command lines get the errors and a pointer to the help, on stderr, not a screen of usage text.
        foreach (var error in parsed.Errors)
        {
            await Console.Error.WriteLineAsync($"{program}: error: {error.Message}");
        }

        var path = new List<string>();
        for (Command? command = parsed.CommandResult.Command; command is not null && command != root; command = command.Parents.OfType<Command>().FirstOrDefault())
        {
            path.Insert(0, command.Name);
        }

        await Console.Error.WriteLineAsync($"See '{program} {string.Join(' ', path.Append("--help"))}'.");
        return 2;
    }
}
