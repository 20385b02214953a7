using System.CommandLine;

namespace Icdiff.Cli;

/// <summary>A running cluster as the CLI joins it: its Redis, and the cluster and service ids its silos use.</summary>
internal sealed record ClusterTarget(string Redis, string ClusterId, string ServiceId);

/// <summary>
/// The <c>--cluster</c>, <c>--cluster-id</c> and <c>--service-id</c> options of every command that talks to a running
/// cluster. The ids default to <c>Icdiff__Cluster__ClusterId</c> and <c>Icdiff__Cluster__ServiceId</c> where set, as the
/// silos read them, so one environment serves silos and CLI alike; Orleans keys the membership table by both.
/// </summary>
internal sealed class ClusterTargetOptions
{
    public ClusterTargetOptions(string redisDescription, bool required)
    {
        Redis = new Option<string?>("--cluster") { Description = redisDescription, Required = required };
        ClusterId = new Option<string>("--cluster-id")
        {
            Description = "The cluster's id (Icdiff__Cluster__ClusterId of its silos; default: that variable, else icdiff).",
            DefaultValueFactory = _ => FromEnvironment("Icdiff__Cluster__ClusterId"),
        };
        ServiceId = new Option<string>("--service-id")
        {
            Description = "The cluster's service id (Icdiff__Cluster__ServiceId of its silos; default: that variable, else icdiff).",
            DefaultValueFactory = _ => FromEnvironment("Icdiff__Cluster__ServiceId"),
        };
    }

    public Option<string?> Redis { get; }

    public Option<string> ClusterId { get; }

    public Option<string> ServiceId { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Redis);
        command.Options.Add(ClusterId);
        command.Options.Add(ServiceId);
    }

    /// <summary>The cluster named on the command line, or null when <c>--cluster</c> was not given.</summary>
    public ClusterTarget? Read(ParseResult parse) =>
        parse.GetValue(Redis) is { } redis ? new ClusterTarget(redis, parse.GetValue(ClusterId)!, parse.GetValue(ServiceId)!) : null;

    private static string FromEnvironment(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : "icdiff";
}
