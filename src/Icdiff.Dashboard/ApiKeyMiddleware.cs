using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Options;

namespace Icdiff.Dashboard;

/// <summary>
/// Refuses requests without the API key (401) when the host listens beyond loopback; on loopback only, everything is
/// open, as the local user already has the files. The key is compared in constant time; a browser that opens
/// <c>?key=</c> gets a session token in a cookie (see <see cref="DashboardSession"/>) and is redirected to the same
/// address without the key, so the key stays out of its history, its bookmarks and any Referer.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<IcdiffDashboardOptions> options, IServer server, DashboardSession session)
{
    public const string CookieName = "icdiff-session";
    private bool? _exposed;

    public async Task InvokeAsync(HttpContext context)
    {
        _exposed ??= DashboardGuardMiddleware.IsExposed(server);
        if (_exposed == false)
        {
            await next(context);
            return;
        }

        var expected = options.Value.ApiKey;
        var query = context.Request.Query["key"].ToString();
        var presented = context.Request.Headers["X-Api-Key"].ToString() is { Length: > 0 } header ? header
            : context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim()
            : query;
        var allowed = !string.IsNullOrWhiteSpace(expected) && (string.IsNullOrWhiteSpace(presented)
            ? session.IsTokenFor(context.Request.Cookies[CookieName], expected)
            : Matches(presented, expected));
        if (!allowed)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"icdiff\"";
            await context.Response.WriteAsync("401: this dashboard needs its API key (header X-Api-Key or Authorization: Bearer).");
            return;
        }

        if (query.Length > 0 && presented == query)
        {
            // A browser opened with ?key= keeps a session token (never the key) in a cookie only this site reads, and
            // goes on at the same address without the key.
            context.Response.Cookies.Append(CookieName, session.TokenFor(expected!), new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = "/" });
            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                var rest = new QueryBuilder(context.Request.Query.Where(q => q.Key != "key").SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v ?? ""))));
                context.Response.Redirect($"{context.Request.PathBase}{context.Request.Path}{rest.ToQueryString()}");
                return;
            }
        }

        await next(context);
    }

    private static bool Matches(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
