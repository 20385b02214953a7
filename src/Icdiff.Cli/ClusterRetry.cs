namespace Icdiff.Cli;

/// <summary>
/// Retries a grain call through the faults of a cluster that is (re)starting: silos killed without a goodbye stay in
/// the membership table until they are voted dead, and calls routed to them are rejected meanwhile.
/// </summary>
internal static class ClusterRetry
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (IsTransient(ex) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public static bool IsTransient(Exception ex) =>
        ex is OrleansMessageRejectionException or SiloUnavailableException or TimeoutException
        || (ex is OrleansException && ex.Message.Contains("no longer active", StringComparison.Ordinal));
}
