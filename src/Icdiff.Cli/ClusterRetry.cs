namespace Icdiff.Cli;

/// <summary>
/// Retries a grain call through the faults of a cluster that is (re)starting: silos killed without a goodbye stay in
/// the membership table until they are voted dead, and calls routed to them are rejected meanwhile; while the only
/// coordinator is down, its grains have nowhere to be placed until it (or another) is back.
/// </summary>
internal static class ClusterRetry
{
    /// <summary>One call is retried for three minutes, once a second: a killed silo is voted dead, or restarted, well within it.</summary>
    private static readonly Icdiff.Grains.BudgetedRetry Retry = new(TimeSpan.FromMinutes(3), IsTransient, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), exponential: false);

    public static TimeSpan Budget => Retry.Budget;

    public static Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) => Retry.RunAsync(call, cancellationToken);

    public static bool IsTransient(Exception ex) =>
        ex is OrleansMessageRejectionException or SiloUnavailableException or TimeoutException
        || (ex is OrleansException && (ex.Message.Contains("no longer active", StringComparison.Ordinal)
                                      || ex.Message.Contains("No active nodes are compatible with grain", StringComparison.Ordinal)))
        || (ex is AggregateException aggregate && aggregate.InnerExceptions.All(IsTransient));
}
