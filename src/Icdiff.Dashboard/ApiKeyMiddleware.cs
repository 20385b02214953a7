using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Icdiff.Dashboard;

/// <summary>
/// Refuses requests without the API key (401) when the host listens beyond loopback; on loopback only, everything is
/// open, as the local user already has the files. The key is compared in constant time.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<IcdiffDashboardOptions> options, IServer server)
{
    public const string CookieName = "icdiff-key";
    private bool? _exposed;

    public async Task InvokeAsync(HttpContext context)
    {
        _exposed ??= server.Features.Get<IServerAddressesFeature>()?.Addresses.Any(a => !IcdiffDashboardOptions.IsLoopback(a)) ?? true;
        if (_exposed == false)
        {
            await next(context);
            return;
        }

        var expected = options.Value.ApiKey;
        var query = context.Request.Query["key"].ToString();
        var presented = context.Request.Headers["X-Api-Key"].ToString() is { Length: > 0 } header ? header
            : context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim()
            : query.Length > 0 ? query
            : context.Request.Cookies[CookieName] ?? "";
        if (string.IsNullOrEmpty(expected) || !Matches(presented, expected))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"icdiff\"";
            await context.Response.WriteAsync("401: this dashboard needs its API key (header X-Api-Key or Authorization: Bearer).");
            return;
        }

        if (query.Length > 0)
        {
            // A browser opened with ?key= keeps it in a cookie only this site reads, so links need not carry it.
            context.Response.Cookies.Append(CookieName, query, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps });
        }

        await next(context);
    }

    private static bool Matches(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
