using System.Text.RegularExpressions;

namespace Icdiff.Cli.Tests.Deployment;

/// <summary>
/// A Compose file as <c>docker compose config</c> resolves it, for what the tests need: services with merge keys
/// applied and each one's environment (mapping or list form) with <c>${VAR}</c>, <c>${VAR:-default}</c>,
/// <c>${VAR:?error}</c> and <c>$$</c> interpolated from the variables given.
/// </summary>
internal sealed partial class ComposeFile(SortedDictionary<string, object?> document)
{
    public static ComposeFile Parse(string text) => new(YamlValues.LoadMapping(text));

    public IEnumerable<string> ServiceNames => (document.At("services") as IDictionary<string, object?>)?.Keys ?? [];

    public object? Service(string name) => document.At("services", name);

    /// <summary>The service's environment as written, before interpolation.</summary>
    public IReadOnlyDictionary<string, string> RawEnvironment(string service)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Service(service).At("environment"))
        {
            case IDictionary<string, object?> map:
                foreach (var (key, value) in map)
                {
                    environment[key] = value.Text() ?? "";
                }

                break;
            case List<object?> list:
                foreach (var entry in list.Select(e => e.Text() ?? ""))
                {
                    var equals = entry.IndexOf('=', StringComparison.Ordinal);
                    environment[equals < 0 ? entry : entry[..equals]] = equals < 0 ? "" : entry[(equals + 1)..];
                }

                break;
        }

        return environment;
    }

    /// <summary>The service's environment with variables interpolated; a missing required variable throws with Compose's message.</summary>
    public IReadOnlyDictionary<string, string> Environment(string service, IReadOnlyDictionary<string, string> variables) =>
        RawEnvironment(service).ToDictionary(e => e.Key, e => Interpolate(e.Value, variables), StringComparer.Ordinal);

    public static string Interpolate(string text, IReadOnlyDictionary<string, string> variables) => Variable().Replace(text, m =>
    {
        if (m.Value == "$$")
        {
            return "$";
        }

        var name = m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["bare"].Value;
        var value = variables.GetValueOrDefault(name);
        var colon = m.Groups["colon"].Success;
        var unset = value is null || (colon && value.Length == 0);
        var argument = m.Groups["argument"].Value;
        return m.Groups["operator"].Value switch
        {
            "-" => unset ? Interpolate(argument, variables) : value!,
            "?" => unset ? throw new InvalidOperationException($"required variable {name} is missing a value: {argument}") : value!,
            "+" => unset ? "" : Interpolate(argument, variables),
            _ => value ?? "",
        };
    });

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<colon>:)?(?<operator>[-?+])(?<argument>[^}]*))?\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();
}
