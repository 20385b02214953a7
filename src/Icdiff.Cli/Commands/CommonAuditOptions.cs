using System.CommandLine;
using Icdiff.Core;
using Icdiff.Grains;

namespace Icdiff.Cli.Commands;

/// <summary>Options every audit-running command takes, with the same names and defaults.</summary>
internal sealed class CommonAuditOptions
{
    private readonly Option<string> _model = new("--model") { Description = "Model manifest (JSON next to the .onnx); default: the built-in descriptor.", DefaultValueFactory = _ => "builtin" };
    private readonly Option<int> _minLevel = new("--min-level") { Description = "Lowest replication level (1..5) that counts as a replica.", DefaultValueFactory = _ => ReplicaCriterion.DefaultMinLevel };
    private readonly Option<int> _candidates = new("--candidates") { Description = "Gallery candidates re-scored exactly per generated image (k).", DefaultValueFactory = _ => ReplicaCriterion.DefaultCandidates };
    private readonly Option<int> _shardSize = new("--shard-size") { Description = "Images per shard (unit of work and of checkpointing).", DefaultValueFactory = _ => 64 };
    private readonly Option<string?> _out = new("--out") { Description = "Folder for report.json, matches.csv and report.html." };
    private readonly Option<string?> _dataDir = new("--data-dir") { Description = "Where gallery indexes are kept between runs (default: the user's local application data)." };

    public void AddTo(Command command)
    {
        command.Options.Add(_model);
        command.Options.Add(_minLevel);
        command.Options.Add(_candidates);
        command.Options.Add(_shardSize);
        command.Options.Add(_out);
        command.Options.Add(_dataDir);
    }

    /// <summary>The run's request, its corpus locations made absolute and their folders' identities recorded (see <see cref="CorpusLocations"/>).</summary>
    public AuditRequest ToRequest(ParseResult parse, string gallery, IReadOnlyList<ModelCorpus> generated) =>
        CorpusLocations.Canonical(new(gallery, generated, parse.GetValue(_model) ?? "builtin", parse.GetValue(_minLevel), parse.GetValue(_candidates), parse.GetValue(_shardSize)));

    public string OutDirectory(ParseResult parse, string fallback) => Path.GetFullPath(parse.GetValue(_out) ?? fallback);

    public string DataDirectory(ParseResult parse) => Path.GetFullPath(parse.GetValue(_dataDir) ?? AuditSession.DefaultDataDirectory);

    public string? ExplicitOut(ParseResult parse) => parse.GetValue(_out);

    public string? ExplicitDataDirectory(ParseResult parse) => parse.GetValue(_dataDir);
}
