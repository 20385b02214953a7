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
    private readonly Option<string> _matchRule = new("--match-rule") { Description = "Which candidate is the match: 'top1' (the most similar; default) or 'max-level' (the highest level of the top-k). Both ratios are reported.", DefaultValueFactory = _ => MatchRule.Top1 };
    private readonly Option<string?> _control = new("--control") { Description = "Images known not to be in the gallery (any corpus kind): their false-replica rate is the floor each model's ratio must clear." };
    private readonly Option<string?> _out = new("--out") { Description = "Folder for report.json, matches.csv and report.html." };
    private readonly Option<string?> _dataDir = new("--data-dir") { Description = "Where gallery indexes are kept between runs (default: the user's local application data)." };

    public void AddTo(Command command)
    {
        command.Options.Add(_model);
        command.Options.Add(_minLevel);
        command.Options.Add(_candidates);
        command.Options.Add(_shardSize);
        command.Options.Add(_matchRule);
        command.Options.Add(_control);
        command.Options.Add(_out);
        command.Options.Add(_dataDir);
    }

    /// <summary>
    /// The run's request, its corpus locations made absolute and their folders' identities recorded (see
    /// <see cref="CorpusLocations"/>); a control corpus is scanned like a model under a reserved name, which --generated refuses.
    /// </summary>
    public AuditRequest ToRequest(ParseResult parse, string gallery, IReadOnlyList<ModelCorpus> generated)
    {
        var rule = parse.GetValue(_matchRule) ?? MatchRule.Top1;
        var control = parse.GetValue(_control);
        IReadOnlyList<ModelCorpus> corpora = control is null ? generated : [.. generated, new ModelCorpus(AuditRequest.ControlModel, control)];
        var request = CorpusLocations.Canonical(new(gallery, corpora, parse.GetValue(_model) ?? "builtin", parse.GetValue(_minLevel), parse.GetValue(_candidates), parse.GetValue(_shardSize), MatchRule: rule));
        // The control's location as canonicalised with the other corpora.
        return control is null ? request : request with { Control = request.Generated.Single(m => m.Model == AuditRequest.ControlModel).Location };
    }

    public string OutDirectory(ParseResult parse, string fallback) => Path.GetFullPath(parse.GetValue(_out) ?? fallback);

    public string DataDirectory(ParseResult parse) => Path.GetFullPath(parse.GetValue(_dataDir) ?? AuditSession.DefaultDataDirectory);

    public string? ExplicitOut(ParseResult parse) => parse.GetValue(_out);

    public string? ExplicitDataDirectory(ParseResult parse) => parse.GetValue(_dataDir);
}
