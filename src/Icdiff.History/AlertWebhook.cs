using System.Net.Http.Json;
using Microsoft.Extensions.Logging;

namespace Icdiff.History;

/// <summary>The JSON an alert webhook receives: one flagged run and its flagged models.</summary>
public sealed record AlertPayload(string RunId, string? Schedule, DateTimeOffset FinishedAt, IReadOnlyList<AlertedModel> Models);

public sealed record AlertedModel(string Model, double Ratio, double Lower, double Upper, int Scanned, int Replicas, string Reason);

/// <summary>
/// Posts flagged runs to the configured webhook. A webhook that fails or times out is logged, never fails the run:
/// the flag is already in the store and on the dashboard.
/// </summary>
public sealed partial class AlertWebhook(HttpClient http, ILogger<AlertWebhook> logger)
{
    public async Task<bool> SendAsync(Uri url, AlertPayload payload, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.PostAsJsonAsync(url, payload, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                Log.Refused(logger, payload.RunId, url.GetLeftPart(UriPartial.Path), (int)response.StatusCode);
                return false;
            }

            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Log.Failed(logger, ex, payload.RunId, url.GetLeftPart(UriPartial.Path));
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Alert webhook {Url} refused the alert of run {Run} with HTTP {Status}")]
        public static partial void Refused(ILogger logger, string run, string url, int status);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Alert webhook {Url} could not be called for run {Run}")]
        public static partial void Failed(ILogger logger, Exception exception, string run, string url);
    }
}
