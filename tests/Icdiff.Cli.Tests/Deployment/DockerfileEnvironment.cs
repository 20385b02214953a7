using System.Text.RegularExpressions;

namespace Icdiff.Cli.Tests.Deployment;

/// <summary>
/// The <c>ENV</c> of a Dockerfile's final stage: what every container of the image starts with, under the environment
/// that Compose or Kubernetes add (theirs wins).
/// </summary>
internal static partial class DockerfileEnvironment
{
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        var instructions = File.ReadAllText(path).Replace("\\\r\n", " ", StringComparison.Ordinal).Replace("\\\n", " ", StringComparison.Ordinal)
            .Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var finalStage = instructions.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in instructions.Skip(finalStage + 1).Where(l => l.StartsWith("ENV ", StringComparison.OrdinalIgnoreCase)))
        {
            var body = line[4..].Trim();
            if (!body.Contains('=', StringComparison.Ordinal))
            {
                // The legacy form: ENV NAME value with spaces.
                var space = body.IndexOf(' ', StringComparison.Ordinal);
                environment[body[..space]] = body[(space + 1)..].Trim();
                continue;
            }

            foreach (Match pair in Pair().Matches(body))
            {
                environment[pair.Groups["name"].Value] = pair.Groups["quoted"].Success ? pair.Groups["quoted"].Value : pair.Groups["plain"].Value;
            }
        }

        return environment;
    }

    [GeneratedRegex("(?<name>[A-Za-z_][A-Za-z0-9_.]*)=(?:\"(?<quoted>[^\"]*)\"|(?<plain>\\S*))")]
    private static partial Regex Pair();
}
