using System.Net;

namespace Icdiff.Dashboard.Tests;

/// <summary>Who may read the dashboard: anyone on loopback; beyond it, only requests with the key.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardAccessTests(DashboardFixture fixture)
{
    private const string Key = "a-long-enough-test-key-0123456789";

    [Fact]
    public async Task Bound_beyond_loopback_a_request_without_the_key_gets_401_and_one_with_it_the_page()
    {
        var address = await fixture.StartDashboardAsync("http://0.0.0.0:0", Key);
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;

        using var bare = await http.GetAsync(address + "/", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
        Assert.DoesNotContain("model-a", await bare.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        using var thumbnail = await http.GetAsync($"{address}/api/runs", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, thumbnail.StatusCode);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, address + "/");
        wrong.Headers.Add("X-Api-Key", Key + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong, ct)).StatusCode);

        using var withHeader = new HttpRequestMessage(HttpMethod.Get, address + "/");
        withHeader.Headers.Add("X-Api-Key", Key);
        using var allowed = await http.SendAsync(withHeader, ct);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("model-a", await allowed.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        using var bearer = new HttpRequestMessage(HttpMethod.Get, address + "/api/runs");
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(bearer, ct)).StatusCode);
    }

    [Fact]
    public async Task On_loopback_no_key_is_needed()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(fixture.BaseUrl + "/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080", null, "beyond loopback")]
    [InlineData("http://*:8080", null, "beyond loopback")]
    [InlineData("http://10.1.2.3:8080", "short", "at least 16")]
    public void A_binding_beyond_loopback_without_a_proper_key_is_refused_at_start(string url, string? key, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new IcdiffDashboardOptions { ApiKey = key }.Validate([url]));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://localhost:5080")]
    [InlineData("http://[::1]:5080")]
    public void Loopback_bindings_need_no_key(string url) => new IcdiffDashboardOptions().Validate([url]);

    [Fact]
    public async Task Export_api_gives_one_csv_row_per_image_and_skip()
    {
        var run = (await fixture.Store.GetRunAsync(fixture.RunIds[0], TestContext.Current.CancellationToken))!;
        using var http = new HttpClient();
        var csv = await http.GetStringAsync($"{fixture.BaseUrl}/api/runs/{run.RunId}/export?format=csv", TestContext.Current.CancellationToken);
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1 + run.Models.Sum(m => m.Scanned + m.Skipped), rows.Length);
        using var bad = await http.GetAsync($"{fixture.BaseUrl}/api/runs/{run.RunId}/export?format=xml", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
