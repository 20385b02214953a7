using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Dashboard;

/// <summary>
/// What every dashboard response carries and every request must pass before the key check: security headers (a
/// policy that runs no script, loads nothing from elsewhere and cannot be framed; no MIME sniffing; no Referer), and a
/// Host header the dashboard answers. A keyless loopback dashboard answers only loopback names (and configured
/// <see cref="IcdiffDashboardOptions.AllowedHosts"/>): a page whose own name an attacker resolves to 127.0.0.1 (DNS
/// rebinding) is refused. A keyed dashboard checks hosts when names are configured. Hand-written rather than ASP.NET's
/// host filtering because the rule depends on the addresses Kestrel actually bound, known only once it listens.
/// </summary>
public sealed partial class DashboardGuardMiddleware(RequestDelegate next, IOptions<IcdiffDashboardOptions> options, IServer server, ILogger<DashboardGuardMiddleware> logger)
{
    public const string ContentSecurityPolicy = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    private bool? _exposed;

    /// <summary>Whether any address the server listens on is reachable from beyond this machine.</summary>
    public static bool IsExposed(IServer server) =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.Any(a => !IcdiffDashboardOptions.IsLoopback(a)) ?? true;

    public async Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";

        _exposed ??= IsExposed(server);
        var settings = options.Value;
        var host = context.Request.Host.Host;
        if ((_exposed == false || settings.AllowedHosts.Count > 0) && !settings.AllowsHost(host))
        {
            Log.HostRefused(logger, host);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"400: this dashboard does not answer to the host name in the request; add it to {IcdiffDashboardOptions.SectionName}:AllowedHosts if it is yours.");
            return;
        }

        await next(context);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = DashboardEventIds.HostRefused, Level = LogLevel.Warning, Message = "Dashboard request for host {Host} refused: not a loopback name nor an allowed host")]
        public static partial void HostRefused(ILogger logger, string host);
    }
}
