using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Icdiff.Cli.Tests.Deployment;

/// <summary>
/// YAML documents as plain values, the way Helm and Compose see them: mappings as key-sorted dictionaries, sequences
/// as lists, plain scalars typed by the YAML core schema (null, bool, integer, float, else string), quoted scalars as
/// strings. Merge keys (<c>&lt;&lt;: *anchor</c>) are resolved.
/// </summary>
internal static partial class YamlValues
{
    public static IReadOnlyList<object?> LoadAll(string text)
    {
        var stream = new YamlStream();
        stream.Load(new Parser(new StringReader(text)));
        return [.. stream.Documents.Select(d => ToValue(d.RootNode))];
    }

    public static SortedDictionary<string, object?> LoadMapping(string text) =>
        LoadAll(text).SingleOrDefault() as SortedDictionary<string, object?> ?? new(StringComparer.Ordinal);

    /// <summary>Follows a path of mapping keys; null where any is missing.</summary>
    public static object? At(this object? value, params string[] path)
    {
        foreach (var key in path)
        {
            value = value is IDictionary<string, object?> map && map.TryGetValue(key, out var found) ? found : null;
        }

        return value;
    }

    public static IEnumerable<object?> Items(this object? value) => value as List<object?> ?? [];

    /// <summary>A scalar as Helm's and Compose's string conversions write it.</summary>
    public static string? Text(this object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"not a scalar: {value.GetType().Name}"),
    };

    /// <summary>Deep merge as Helm merges values files: mappings key by key, anything else replaced.</summary>
    public static SortedDictionary<string, object?> Merge(SortedDictionary<string, object?> baseValues, SortedDictionary<string, object?> overrides)
    {
        var merged = new SortedDictionary<string, object?>(baseValues, StringComparer.Ordinal);
        foreach (var (key, value) in overrides)
        {
            merged[key] = merged.GetValueOrDefault(key) is SortedDictionary<string, object?> inner && value is SortedDictionary<string, object?> over
                ? Merge(inner, over)
                : value;
        }

        return merged;
    }

    private static object? ToValue(YamlNode node) => node switch
    {
        YamlMappingNode map => Mapping(map),
        YamlSequenceNode sequence => sequence.Children.Select(ToValue).ToList(),
        YamlScalarNode scalar when scalar.Style is ScalarStyle.Plain => Typed(scalar.Value ?? ""),
        YamlScalarNode scalar => scalar.Value ?? "",
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    // A merge key (<<: *anchor, or a list of them) adds the anchored mappings' entries; the mapping's own keys win,
    // and earlier anchors in a list win over later ones (YAML's merge type, as Compose applies it).
    private static SortedDictionary<string, object?> Mapping(YamlMappingNode map)
    {
        var result = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children.Where(c => ((YamlScalarNode)c.Key).Value != "<<"))
        {
            result.Add(((YamlScalarNode)key).Value ?? "", ToValue(value));
        }

        var merged = map.Children.Where(c => ((YamlScalarNode)c.Key).Value == "<<").Select(c => c.Value)
            .SelectMany(v => v is YamlSequenceNode list ? list.Children : [v]);
        foreach (var source in merged)
        {
            foreach (var (key, value) in Mapping(source as YamlMappingNode ?? throw new InvalidOperationException("a merge key takes mappings")))
            {
                result.TryAdd(key, value);
            }
        }

        return result;
    }

    private static object? Typed(string plain) => plain switch
    {
        "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ when Integer().IsMatch(plain) => long.Parse(plain, CultureInfo.InvariantCulture),
        _ when Float().IsMatch(plain) => double.Parse(plain, CultureInfo.InvariantCulture),
        _ => plain,
    };

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
