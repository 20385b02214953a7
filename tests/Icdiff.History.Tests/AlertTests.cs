using Icdiff.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.History.Tests;

public sealed class AlertTests
{
    private static HistoryModel Model(int scanned, int replicas)
    {
        var interval = Core.WilsonInterval.Compute(replicas, scanned);
        return new HistoryModel("m", "/m", scanned, scanned, true, scanned, replicas, 0, (double)replicas / scanned, interval.Lower, interval.Upper, [0, 0, 0, 0, 0, 0], new Dictionary<string, int>(), scanned, replicas, null);
    }

    [Fact]
    public void A_ratio_above_the_limit_is_flagged_and_one_at_or_below_is_not()
    {
        Assert.Contains("above the limit 15.0%", AlertRules.Evaluate(Model(100, 16), null, 0.15), StringComparison.Ordinal);
        Assert.Null(AlertRules.Evaluate(Model(100, 15), null, 0.15));
        Assert.Null(AlertRules.Evaluate(Model(100, 90), null, null));
    }

    [Fact]
    public void An_interval_wholly_above_the_previous_one_is_flagged_but_an_overlapping_rise_is_not()
    {
        var previous = Model(600, 60); // 10%, about [7.8%, 12.7%]
        Assert.Contains("wholly above the previous", AlertRules.Evaluate(Model(600, 120), previous, null), StringComparison.Ordinal);
        Assert.Null(AlertRules.Evaluate(Model(600, 70), previous, null));
        Assert.Null(AlertRules.Evaluate(Model(600, 120) with { Scanned = 0 }, previous, 0.01));
    }

    [Fact]
    public async Task The_webhook_receives_the_flagged_models_and_a_dead_webhook_is_reported_not_thrown()
    {
        await using var receiver = await PostRecorder.StartAsync();
        using var http = new HttpClient();
        var webhook = new AlertWebhook(http, NullLogger<AlertWebhook>.Instance);
        var payload = new AlertPayload("run-7", "nightly", DateTimeOffset.UtcNow, [new AlertedModel("<b>m</b>", 0.3, 0.2, 0.4, 100, 30, "ratio 30.0% is above the limit 20.0%")]);
        Assert.True(await webhook.SendAsync(receiver.HookUrl, payload, TestContext.Current.CancellationToken));
        using var body = System.Text.Json.JsonDocument.Parse(Assert.Single(receiver.Bodies));
        Assert.Equal("run-7", body.RootElement.GetProperty("runId").GetString());
        Assert.Equal("<b>m</b>", body.RootElement.GetProperty("models")[0].GetProperty("model").GetString());

        Assert.False(await webhook.SendAsync(new Uri($"{receiver.Address}/no-such-hook"), payload, TestContext.Current.CancellationToken));
        await receiver.StopAsync();
        Assert.False(await webhook.SendAsync(receiver.HookUrl, payload, TestContext.Current.CancellationToken));
    }
}
