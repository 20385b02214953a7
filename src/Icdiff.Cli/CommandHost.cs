using Icdiff.Core;

namespace Icdiff.Cli;

/// <summary>Turns the errors a user can cause into one line on stderr and exit code 2; anything else is a bug and keeps its stack trace.</summary>
internal static class CommandHost
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is CliError or CorpusException or ModelManifestException or ArgumentException or Evaluation.PairsFormatException)
        {
            // One line per problem: a settings check reports every bad key at once.
            foreach (var line in ex.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await Console.Error.WriteLineAsync($"icdiff: error: {line}");
            }

            return AuditSession.ErrorExitCode;
        }
        catch (Exception ex) when (ValidationFailures(ex) is { Count: > 0 } failures)
        {
            // A host's start-time validation: every failure of every options class, one line each, as the settings check prints them.
            foreach (var failure in failures)
            {
                await Console.Error.WriteLineAsync($"icdiff: error: {failure}");
            }

            return AuditSession.ErrorExitCode;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("icdiff: cancelled.");
            return 130;
        }
        catch (Exception ex) when (ClusterRetry.IsTransient(ex))
        {
            // The cluster stayed unreachable past the retries: the run itself carries on there and can be followed later.
            await Console.Error.WriteLineAsync($"icdiff: error: the cluster did not answer for {ClusterRetry.Budget.TotalMinutes:0} minutes ({ex.Message.Split('\n')[0]}); a started run goes on in the cluster: follow it with 'icdiff status <run> --follow'.");
            return 1;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("the audit failed", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"icdiff: error: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The failures of start-time options validation: one options class fails alone, several as an aggregate.</summary>
    private static List<string> ValidationFailures(Exception ex) => ex switch
    {
        Microsoft.Extensions.Options.OptionsValidationException one => [.. one.Failures],
        AggregateException many when many.InnerExceptions.All(e => e is Microsoft.Extensions.Options.OptionsValidationException) =>
            [.. many.InnerExceptions.Cast<Microsoft.Extensions.Options.OptionsValidationException>().SelectMany(e => e.Failures)],
        _ => [],
    };
}
