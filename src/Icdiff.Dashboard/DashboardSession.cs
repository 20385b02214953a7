using System.Security.Cryptography;
using System.Text;

namespace Icdiff.Dashboard;

/// <summary>
/// The session token a browser keeps in its cookie after opening <c>?key=</c>: an HMAC of the key under a secret made
/// when the process starts. The cookie never holds the key itself (a stolen cookie does not give the key away, and it
/// stops working when the dashboard restarts), and the comparison is in constant time.
/// </summary>
public sealed class DashboardSession(byte[] secret)
{
    public static DashboardSession Create() => new(RandomNumberGenerator.GetBytes(32));

    public string TokenFor(string key) => Convert.ToBase64String(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(key))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public bool IsTokenFor(string? token, string key) =>
        !string.IsNullOrEmpty(token) && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token), Encoding.ASCII.GetBytes(TokenFor(key)));
}
