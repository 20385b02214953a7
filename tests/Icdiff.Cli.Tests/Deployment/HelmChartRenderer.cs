using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace Icdiff.Cli.Tests.Deployment;

/// <summary>
/// Renders a Helm chart the way <c>helm template</c> does, for the part of Go templates and Sprig that the chart uses:
/// actions with trim markers and comments, pipelines, fields and variables, <c>if/else</c>, <c>with</c>, <c>range</c>
/// (maps in key order), <c>define</c>/<c>include</c>, and the functions in <see cref="Call"/>. There is no Helm
/// binary on the CI machines; anything this renderer does not know fails loudly instead of rendering wrong, so a
/// chart that grows past it makes the test fail until the renderer learns the new function.
/// </summary>
internal sealed partial class HelmChartRenderer
{
    private static readonly ISerializer Yaml = new SerializerBuilder().WithQuotingNecessaryStrings().Build();

    private readonly Dictionary<string, List<Node>> _defines = new(StringComparer.Ordinal);
    private readonly List<(string File, List<Node> Nodes)> _templates = [];
    private readonly SortedDictionary<string, object?> _chart = new(StringComparer.Ordinal);

    public HelmChartRenderer(string chartDirectory)
    {
        // Helm exposes Chart.yaml's fields capitalised: appVersion is .Chart.AppVersion.
        foreach (var (key, value) in YamlValues.LoadMapping(File.ReadAllText(Path.Combine(chartDirectory, "Chart.yaml"))))
        {
            _chart[char.ToUpperInvariant(key[0]) + key[1..]] = value;
        }

        DefaultValues = YamlValues.LoadMapping(File.ReadAllText(Path.Combine(chartDirectory, "values.yaml")));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(chartDirectory, "templates")).Order(StringComparer.Ordinal))
        {
            var items = Lex(File.ReadAllText(file));
            var index = 0;
            var nodes = ParseList(items, ref index, out var terminator);
            if (terminator is not null)
            {
                throw new HelmTemplateException($"{Path.GetFileName(file)}: unexpected {{{{ {terminator} }}}}");
            }

            // Files starting with '_' hold only definitions; Helm renders no manifest from them.
            if (!Path.GetFileName(file).StartsWith('_'))
            {
                _templates.Add((Path.GetFileName(file), nodes));
            }
        }
    }

    public SortedDictionary<string, object?> DefaultValues { get; }

    /// <summary>Renders every template with values.yaml under <paramref name="overridesYaml"/> (as <c>-f</c> would) and parses the manifests.</summary>
    public IReadOnlyList<(string File, object Manifest)> Render(string overridesYaml = "", string releaseName = "audit") =>
        [.. RenderText(overridesYaml, releaseName).SelectMany(t => YamlValues.LoadAll(t.Value).OfType<object>().Select(m => (t.Key, m)))];

    /// <summary>The text of every template, rendered, by file name.</summary>
    public IReadOnlyDictionary<string, string> RenderText(string overridesYaml = "", string releaseName = "audit")
    {
        var values = YamlValues.Merge(DefaultValues, YamlValues.LoadMapping(overridesYaml));
        var root = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = values,
            ["Chart"] = _chart,
            ["Release"] = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["Name"] = releaseName, ["Namespace"] = "default", ["Service"] = "Helm" },
        };

        var rendered = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, nodes) in _templates)
        {
            var output = new StringBuilder();
            Execute(nodes, root, new Dictionary<string, object?>(StringComparer.Ordinal) { ["$"] = root }, output);
            rendered[file] = output.ToString();
        }

        return rendered;
    }

    // ---- lexing: text and actions, with {{- and -}} trimming the whitespace beside them ----
    private static List<(bool IsAction, string Text)> Lex(string text)
    {
        var items = new List<(bool, string)>();
        var at = 0;
        while (true)
        {
            var open = text.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                items.Add((false, text[at..]));
                return items;
            }

            var literal = text[at..open];
            var start = open + 2;
            if (text.Length > start + 1 && text[start] == '-' && char.IsWhiteSpace(text[start + 1]))
            {
                literal = literal.TrimEnd();
                start++;
            }

            var close = FindClose(text, start);
            var inner = text[start..close];
            var trimAfter = inner.Length >= 2 && inner[^1] == '-' && char.IsWhiteSpace(inner[^2]);
            if (trimAfter)
            {
                inner = inner[..^1];
            }

            items.Add((false, literal));
            inner = inner.Trim();
            if (!(inner.StartsWith("/*", StringComparison.Ordinal) && inner.EndsWith("*/", StringComparison.Ordinal)))
            {
                items.Add((true, inner));
            }

            at = close + 2;
            while (trimAfter && at < text.Length && char.IsWhiteSpace(text[at]))
            {
                at++;
            }
        }
    }

    private static int FindClose(string text, int from)
    {
        var afterSpace = text.AsSpan(from).TrimStart();
        if (afterSpace.StartsWith("/*"))
        {
            // A comment may hold quotes and apostrophes; it ends at */ followed by the closing braces.
            var end = text.IndexOf("*/", from, StringComparison.Ordinal);
            var close = end < 0 ? -1 : text.IndexOf("}}", end, StringComparison.Ordinal);
            return close >= 0 ? close : throw new HelmTemplateException("unterminated comment");
        }

        char? quote = null;
        for (var i = from; i < text.Length - 1; i++)
        {
            var c = text[i];
            if (quote is { } q)
            {
                if (c == '\\' && q == '"')
                {
                    i++;
                }
                else if (c == q)
                {
                    quote = null;
                }
            }
            else if (c is '"' or '`')
            {
                quote = c;
            }
            else if (c == '}' && text[i + 1] == '}')
            {
                return i;
            }
        }

        throw new HelmTemplateException("unterminated action");
    }

    // ---- parsing: a node tree per file, definitions collected across files as Helm shares them ----
    private List<Node> ParseList(List<(bool IsAction, string Text)> items, ref int index, out string? terminator)
    {
        var nodes = new List<Node>();
        while (index < items.Count)
        {
            var (isAction, text) = items[index++];
            if (!isAction)
            {
                if (text.Length > 0)
                {
                    nodes.Add(new TextNode(text));
                }

                continue;
            }

            if (text == "end" || text == "else" || text.StartsWith("else ", StringComparison.Ordinal))
            {
                terminator = text;
                return nodes;
            }

            if (text.StartsWith("if ", StringComparison.Ordinal))
            {
                nodes.Add(ParseIf(ParsePipeline(text[3..]), items, ref index));
            }
            else if (text.StartsWith("with ", StringComparison.Ordinal))
            {
                var body = ParseList(items, ref index, out var end);
                var otherwise = end == "else" ? ParseList(items, ref index, out end) : [];
                Expect(end, "end", "with");
                nodes.Add(new WithNode(ParsePipeline(text[5..]), body, otherwise));
            }
            else if (RangeHeader().Match(text) is { Success: true } range)
            {
                var body = ParseList(items, ref index, out var end);
                var otherwise = end == "else" ? ParseList(items, ref index, out end) : [];
                Expect(end, "end", "range");
                var (key, value) = range.Groups[2].Success ? (range.Groups[1].Value, range.Groups[2].Value) : ((string?)null, range.Groups[1].Success ? range.Groups[1].Value : null);
                nodes.Add(new RangeNode(key, value, ParsePipeline(range.Groups[3].Value), body, otherwise));
            }
            else if (DefineHeader().Match(text) is { Success: true } define)
            {
                var body = ParseList(items, ref index, out var end);
                Expect(end, "end", "define");
                _defines[define.Groups[1].Value] = body;
            }
            else
            {
                nodes.Add(new ActionNode(ParsePipeline(text)));
            }
        }

        terminator = null;
        return nodes;
    }

    private IfNode ParseIf(List<List<Operand>> condition, List<(bool IsAction, string Text)> items, ref int index)
    {
        var then = ParseList(items, ref index, out var end);
        if (end is not null && end.StartsWith("else if ", StringComparison.Ordinal))
        {
            // else if shares the chain's single end.
            return new IfNode(condition, then, [ParseIf(ParsePipeline(end[8..]), items, ref index)]);
        }

        var otherwise = end == "else" ? ParseList(items, ref index, out end) : [];
        Expect(end, "end", "if");
        return new IfNode(condition, then, otherwise);
    }

    private static void Expect(string? actual, string expected, string block)
    {
        if (actual != expected)
        {
            throw new HelmTemplateException($"{block} ends with {{{{ {actual ?? "end of file"} }}}}, not {{{{ {expected} }}}}");
        }
    }

    private static List<List<Operand>> ParsePipeline(string text)
    {
        var tokens = Tokenize(text);
        var index = 0;
        var pipeline = ParsePipeline(tokens, ref index);
        return index == tokens.Count ? pipeline : throw new HelmTemplateException($"unexpected '{tokens[index]}' in '{text}'");
    }

    private static List<List<Operand>> ParsePipeline(List<string> tokens, ref int index)
    {
        var pipeline = new List<List<Operand>> { new() };
        while (index < tokens.Count && tokens[index] != ")")
        {
            var token = tokens[index++];
            if (token == "|")
            {
                pipeline.Add([]);
            }
            else if (token == "(")
            {
                pipeline[^1].Add(new SubPipeline(ParsePipeline(tokens, ref index)));
                if (index >= tokens.Count || tokens[index++] != ")")
                {
                    throw new HelmTemplateException("unclosed parenthesis");
                }
            }
            else
            {
                pipeline[^1].Add(ParseOperand(token));
            }
        }

        return pipeline.Any(c => c.Count == 0) ? throw new HelmTemplateException("empty command in a pipeline") : pipeline;
    }

    private static Operand ParseOperand(string token) => token switch
    {
        ['"', .., '"'] => new Literal(Regex.Unescape(token[1..^1])),
        ['`', .., '`'] => new Literal(token[1..^1]),
        "true" => new Literal(true),
        "false" => new Literal(false),
        "nil" => new Literal(null),
        ['.', ..] => new Field(null, token.Split('.', StringSplitOptions.RemoveEmptyEntries)),
        ['$', ..] => new Field(token.Split('.')[0], token.Split('.')[1..]),
        _ when long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => new Literal(n),
        _ when double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => new Literal(d),
        _ => new Identifier(token),
    };

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '(' or ')' or '|')
            {
                tokens.Add(c.ToString());
                i++;
            }
            else if (c is '"' or '`')
            {
                var end = i + 1;
                while (end < text.Length && text[end] != c)
                {
                    end += c == '"' && text[end] == '\\' ? 2 : 1;
                }

                tokens.Add(text[i..(end + 1)]);
                i = end + 1;
            }
            else
            {
                var end = i;
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('(' or ')' or '|'))
                {
                    end++;
                }

                tokens.Add(text[i..end]);
                i = end;
            }
        }

        return tokens;
    }

    // ---- execution ----
    private void Execute(List<Node> nodes, object? dot, Dictionary<string, object?> variables, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case ActionNode action:
                    output.Append(Print(Evaluate(action.Pipeline, dot, variables)));
                    break;
                case IfNode branch:
                    Execute(Truthy(Evaluate(branch.Condition, dot, variables)) ? branch.Then : branch.Else, dot, new(variables), output);
                    break;
                case WithNode with:
                    var value = Evaluate(with.Value, dot, variables);
                    Execute(Truthy(value) ? with.Then : with.Else, Truthy(value) ? value : dot, new(variables), output);
                    break;
                case RangeNode range:
                    ExecuteRange(range, dot, variables, output);
                    break;
                default:
                    throw new HelmTemplateException($"unknown node {node.GetType().Name}");
            }
        }
    }

    private void ExecuteRange(RangeNode range, object? dot, Dictionary<string, object?> variables, StringBuilder output)
    {
        // Go ranges over a map in key order, over a list in order.
        IEnumerable<(object? Key, object? Value)> entries = Evaluate(range.Value, dot, variables) switch
        {
            null => [],
            IDictionary<string, object?> map => map.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => ((object?)e.Key, e.Value)),
            List<object?> list => list.Select((v, i) => ((object?)(long)i, v)),
            var other => throw new HelmTemplateException($"range over {other.GetType().Name}"),
        };

        var any = false;
        foreach (var (key, value) in entries)
        {
            any = true;
            var scope = new Dictionary<string, object?>(variables);
            if (range.KeyVariable is { } k)
            {
                scope[k] = key;
            }

            if (range.ValueVariable is { } v)
            {
                scope[v] = value;
            }

            Execute(range.Body, value, scope, output);
        }

        if (!any)
        {
            Execute(range.Else, dot, new(variables), output);
        }
    }

    private object? Evaluate(List<List<Operand>> pipeline, object? dot, Dictionary<string, object?> variables)
    {
        object? result = null;
        for (var i = 0; i < pipeline.Count; i++)
        {
            var command = pipeline[i];
            if (command[0] is Identifier function)
            {
                var arguments = command.Skip(1).Select(o => EvaluateOperand(o, dot, variables)).ToList();
                if (i > 0)
                {
                    arguments.Add(result);
                }

                result = Call(function.Name, arguments);
            }
            else if (command.Count == 1 && i == 0)
            {
                result = EvaluateOperand(command[0], dot, variables);
            }
            else
            {
                throw new HelmTemplateException("only a function can take arguments or a piped value");
            }
        }

        return result;
    }

    private object? EvaluateOperand(Operand operand, object? dot, Dictionary<string, object?> variables) => operand switch
    {
        Literal literal => literal.Value,
        SubPipeline sub => Evaluate(sub.Pipeline, dot, variables),
        Field field => Walk(field.Variable is null ? dot : variables.TryGetValue(field.Variable, out var v) ? v : throw new HelmTemplateException($"undefined variable {field.Variable}"), field.Path),
        Identifier identifier => Call(identifier.Name, []),
        _ => throw new HelmTemplateException($"unknown operand {operand}"),
    };

    private static object? Walk(object? value, string[] path)
    {
        foreach (var name in path)
        {
            // As in Go templates: a missing map key is nil, a field of nil is an error (Helm: "nil pointer evaluating").
            value = value switch
            {
                IDictionary<string, object?> map => map.TryGetValue(name, out var found) ? found : null,
                null => throw new HelmTemplateException($"nil pointer evaluating interface {{}}.{name}"),
                _ => throw new HelmTemplateException($"can't evaluate field {name} in type {value.GetType().Name}"),
            };
        }

        return value;
    }

    private object? Call(string function, List<object?> a)
    {
        switch (function, a.Count)
        {
            case ("include", 2):
                var output = new StringBuilder();
                Execute(_defines.GetValueOrDefault(Str(a[0])) ?? throw new HelmTemplateException($"no template \"{a[0]}\""), a[1], new(StringComparer.Ordinal) { ["$"] = a[1] }, output);
                return output.ToString();
            case ("quote", _):
                return string.Join(' ', a.Where(x => x is not null).Select(x => "\"" + Str(x).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\""));
            case ("default", 2):
                return Truthy(a[1]) ? a[1] : a[0];
            case ("nindent", 2):
                return "\n" + Indent(Int(a[0]), Str(a[1]));
            case ("indent", 2):
                return Indent(Int(a[0]), Str(a[1]));
            case ("toYaml", 1):
                return a[0] is null ? "null" : Yaml.Serialize(a[0]).TrimEnd('\n');
            case ("printf", >= 1):
                return Printf(Str(a[0]), a.Skip(1).ToList());
            case ("trunc", 2):
                var s = Str(a[1]);
                return s.Length > Int(a[0]) ? s[..Int(a[0])] : s;
            case ("trimSuffix", 2):
                return Str(a[1]).EndsWith(Str(a[0]), StringComparison.Ordinal) ? Str(a[1])[..^Str(a[0]).Length] : Str(a[1]);
            case ("trim", 1):
                return Str(a[0]).Trim();
            case ("lower", 1):
                return Str(a[0]).ToLowerInvariant();
            case ("replace", 3):
                return Str(a[2]).Replace(Str(a[0]), Str(a[1]), StringComparison.Ordinal);
            case ("list", _):
                return a.ToList();
            case ("hasKey", 2):
                return a[0] is IDictionary<string, object?> map && map.ContainsKey(Str(a[1]));
            case ("not", 1):
                return !Truthy(a[0]);
            case ("eq", 2):
                return Equals(a[0], a[1]) || (a[0] is string or null && a[1] is string or null && Str(a[0]) == Str(a[1]));
            case ("required", 2):
                return Truthy(a[1]) ? a[1] : throw new HelmTemplateException($"execution error: {Str(a[0])}");
            case ("fail", 1):
                throw new HelmTemplateException(Str(a[0]));
            default:
                throw new NotSupportedException($"the test's Helm renderer has no function {function} with {a.Count} arguments: teach it (tests/Icdiff.Cli.Tests/Deployment/HelmChartRenderer.cs)");
        }
    }

    private static string Printf(string format, List<object?> arguments)
    {
        var next = 0;
        return PrintfVerb().Replace(format, m => m.Value switch
        {
            "%%" => "%",
            "%s" or "%d" or "%v" => Str(next < arguments.Count ? arguments[next++] : throw new HelmTemplateException($"printf '{format}': too few arguments")),
            _ => throw new NotSupportedException($"the test's Helm renderer has no printf verb {m.Value}"),
        });
    }

    private static string Indent(int spaces, string text)
    {
        var pad = new string(' ', spaces);
        return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    private static int Int(object? value) => value is long l ? (int)l : throw new HelmTemplateException($"expected an integer, got {value}");

    private static string Str(object? value) => value switch
    {
        string s => s,
        List<object?> list => "[" + string.Join(' ', list.Select(Str)) + "]",
        _ => value.Text() ?? "",
    };

    // Helm prints a missing value as nothing (it removes Go's "<no value>").
    private static string Print(object? value) => value is IDictionary<string, object?> ? throw new HelmTemplateException("printing a map") : Str(value);

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        double d => d != 0,
        System.Collections.ICollection c => c.Count > 0,
        _ => true,
    };

    [GeneratedRegex(@"^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*)?(.+)$")]
    private static partial Regex RangeHeader();

    [GeneratedRegex("^define\\s+\"([^\"]+)\"$")]
    private static partial Regex DefineHeader();

    [GeneratedRegex("%[-+# 0-9.]*.")]
    private static partial Regex PrintfVerb();

    private abstract record Node;

    private sealed record TextNode(string Text) : Node;

    private sealed record ActionNode(List<List<Operand>> Pipeline) : Node;

    private sealed record IfNode(List<List<Operand>> Condition, List<Node> Then, List<Node> Else) : Node;

    private sealed record WithNode(List<List<Operand>> Value, List<Node> Then, List<Node> Else) : Node;

    private sealed record RangeNode(string? KeyVariable, string? ValueVariable, List<List<Operand>> Value, List<Node> Body, List<Node> Else) : Node;

    private abstract record Operand;

    private sealed record Literal(object? Value) : Operand;

    private sealed record Field(string? Variable, string[] Path) : Operand;

    private sealed record Identifier(string Name) : Operand;

    private sealed record SubPipeline(List<List<Operand>> Pipeline) : Operand;
}
