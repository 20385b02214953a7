using System.Diagnostics;
using Polly;
using Polly.Retry;

namespace Icdiff.Grains;

/// <summary>
/// A retry pipeline (Polly) bounded by time rather than by a count: an outage lasts as long as it lasts, and the
/// caller knows how long it may wait (a Redis restart, a cluster whose silos are being voted dead). Transient
/// faults are retried with the delays given until <see cref="Budget"/> has passed since the first attempt; then the
/// last fault is thrown as it was.
/// </summary>
public sealed class BudgetedRetry
{
    private static readonly ResiliencePropertyKey<long> Started = new("icdiff.retry.started");

    private readonly ResiliencePipeline _pipeline;

    /// <param name="budget">How long after the first attempt a fault is still retried.</param>
    /// <param name="isTransient">Which faults are worth another attempt.</param>
    /// <param name="delay">The first delay between attempts.</param>
    /// <param name="maxDelay">The longest delay; with <paramref name="exponential"/> the delays double up to it.</param>
    public BudgetedRetry(TimeSpan budget, Func<Exception, bool> isTransient, TimeSpan delay, TimeSpan maxDelay, bool exponential)
    {
        Budget = budget;
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex and not OperationCanceledException
                    && isTransient(ex)
                    && Stopwatch.GetElapsedTime(args.Context.Properties.GetValue(Started, Stopwatch.GetTimestamp())) < budget),
                MaxRetryAttempts = int.MaxValue,
                Delay = delay,
                MaxDelay = maxDelay,
                BackoffType = exponential ? DelayBackoffType.Exponential : DelayBackoffType.Constant,
                UseJitter = false,
            })
            .Build();
    }

    public TimeSpan Budget { get; }

    public async Task<T> RunAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken = default)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Started, Stopwatch.GetTimestamp());
        try
        {
            return await _pipeline.ExecuteAsync(static async (_, op) => await op(), context, operation);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
