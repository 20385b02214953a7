using System.Diagnostics;
using System.Net;
using Icdiff.Tests.Shared;

namespace Icdiff.Dashboard.Tests;

/// <summary>
/// The dashboard's edges as a hostile user meets them, on real files and a real history: thumbnails only of images the
/// run recorded and only while unchanged, no link followed out of the corpus, a FIFO that cannot hang a thread, a
/// 100-megapixel PNG decoded once for eight requests within the pixel budget and in little memory; and the HTTP
/// hardening (Host check, security headers, a session cookie instead of the key, the key dropped from the URL).
/// The corpus here is recorded into the fixture's history the way a run records it (keys and stamps from a listing).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardHostileTests(DashboardFixture fixture)
{
    private const string Key = "a-long-enough-test-key-0123456789";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Thumbnails_are_served_only_for_recorded_unchanged_images_and_never_through_a_link_out_of_the_corpus()
    {
        var (runId, folder) = await RecordRunAsync("recorded", f =>
        {
            File.Copy(Directory.GetFiles(fixture.Corpus.GalleryPath).Order(StringComparer.Ordinal).First(), Path.Combine(f, "kept.png"));
            File.Copy(Directory.GetFiles(fixture.Corpus.GalleryPath).Order(StringComparer.Ordinal).Skip(1).First(), Path.Combine(f, "changed.png"));
            File.Copy(Directory.GetFiles(fixture.Corpus.GalleryPath).Order(StringComparer.Ordinal).Skip(2).First(), Path.Combine(f, "linked.png"));
        });
        using var http = new HttpClient();

        // Added after the run: the corpus lists it, the run never audited it.
        File.Copy(Path.Combine(folder, "kept.png"), Path.Combine(folder, "added-later.png"));
        // Changed since the run: same name, other content.
        File.WriteAllBytes(Path.Combine(folder, "changed.png"), File.ReadAllBytes(Path.Combine(folder, "kept.png")));
        File.SetLastWriteTimeUtc(Path.Combine(folder, "changed.png"), DateTime.UtcNow.AddMinutes(5));
        // A recorded file replaced by a link to a copy outside the corpus, with the very size and time the run read.
        var outside = Path.Combine(Directory.CreateTempSubdirectory("icdiff-outside-").FullName, "secret.png");
        File.Copy(Path.Combine(folder, "linked.png"), outside);
        File.SetLastWriteTimeUtc(outside, File.GetLastWriteTimeUtc(Path.Combine(folder, "linked.png")));
        File.Delete(Path.Combine(folder, "linked.png"));
        File.CreateSymbolicLink(Path.Combine(folder, "linked.png"), outside);

        async Task<(HttpStatusCode Status, string Body)> Get(string key)
        {
            using var response = await http.GetAsync($"{fixture.BaseUrl}/thumbs/{runId}/generated/m?key={Uri.EscapeDataString(key)}", Token);
            return (response.StatusCode, response.Content.Headers.ContentType?.MediaType == "image/jpeg" ? "jpeg" : await response.Content.ReadAsStringAsync(Token));
        }

        Assert.Equal((HttpStatusCode.OK, "jpeg"), await Get("kept.png"));
        var added = await Get("added-later.png");
        Assert.Equal(HttpStatusCode.NotFound, added.Status);
        Assert.Contains("recorded no image 'added-later.png'", added.Body, StringComparison.Ordinal);
        var changed = await Get("changed.png");
        Assert.Equal(HttpStatusCode.Conflict, changed.Status);
        Assert.Contains("is not the image run", changed.Body, StringComparison.Ordinal);
        var linked = await Get("linked.png");
        Assert.Equal(HttpStatusCode.Forbidden, linked.Status);
        Assert.Contains("link out of the corpus folder", linked.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sixty_requests_for_a_fifo_thumbnail_end_at_once_and_the_overview_still_answers()
    {
        Assert.SkipWhen(!OperatingSystem.IsLinux(), "FIFOs need Linux");
        var (runId, _) = await RecordRunAsync("fifo", f => MakeFifo(Path.Combine(f, "pipe.png")));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var clock = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => http.GetAsync($"{fixture.BaseUrl}/thumbs/{runId}/generated/m?key=pipe.png", Token)));
        using var overview = await http.GetAsync(fixture.BaseUrl + "/", Token);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.Contains("a FIFO (named pipe), not a regular file", await responses[0].Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"60 FIFO thumbnails took {clock.Elapsed}");
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Eight_parallel_requests_for_a_100_megapixel_png_share_one_row_sampled_decode_in_little_memory_and_the_pixel_budget_holds()
    {
        var (runId, _) = await RecordRunAsync("huge", f => WriteLargePng(Path.Combine(f, "huge.png"), 10_000, 10_000));
        var previews = fixture.Services.GetRequiredService<CorpusPreviewService>();
        var before = previews.DecodesStarted;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var baseline = ResetPeakResidentMegabytes();

        var clock = Stopwatch.StartNew();
        var bodies = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await http.GetAsync($"{fixture.BaseUrl}/thumbs/{runId}/generated/m?key=huge.png", Token);
            var body = await response.Content.ReadAsByteArrayAsync(Token);
            Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
            return body;
        }));
        var elapsed = clock.Elapsed;
        var peak = PeakResidentMegabytes();

        Assert.All(bodies, b => Assert.Equal(bodies[0], b));
        Assert.True(bodies[0].Length > 100 && bodies[0][0] == 0xFF && bodies[0][1] == 0xD8, "not a JPEG");
        Assert.Equal(1, previews.DecodesStarted - before);
        TestContext.Current.TestOutputHelper?.WriteLine($"8 requests for a 10000x10000 PNG: {elapsed.TotalSeconds:0.0} s, peak RSS {peak} MB (from {baseline} MB; a whole decode is 381 MB each)");
        if (baseline is not null && peak is not null)
        {
            Assert.True(peak - baseline < 200, $"peak resident memory grew by {peak - baseline} MB while decoding");
        }

        // Under a configured budget of 1 megapixel the same image is refused before any pixel is decoded.
        var strict = await fixture.StartDashboardAsync("http://127.0.0.1:0", null, [new("Icdiff:Decoder:MaxPixels", "1000000")]);
        using var refused = await http.GetAsync($"{strict}/thumbs/{runId}/generated/m?key=huge.png", Token);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains("does not decode within the limits", await refused.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_page_carries_the_security_headers_and_a_keyless_dashboard_refuses_foreign_host_names()
    {
        using var http = new HttpClient();
        using var page = await http.GetAsync(fixture.BaseUrl + "/", Token);
        Assert.Equal(DashboardGuardMiddleware.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", DashboardGuardMiddleware.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());

        foreach (var (host, expected) in new[] { ("evil.example.com", HttpStatusCode.BadRequest), ("localhost", HttpStatusCode.OK), ("127.0.0.1", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, fixture.BaseUrl + "/");
            request.Headers.Host = $"{host}:{new Uri(fixture.BaseUrl).Port}";
            using var response = await http.SendAsync(request, Token);
            Assert.True(expected == response.StatusCode, $"Host {host}: {response.StatusCode}");
        }

        var allowing = await fixture.StartDashboardAsync("http://127.0.0.1:0", null, [new("Icdiff:Dashboard:AllowedHosts:0", "dashboard.internal")]);
        using var named = new HttpRequestMessage(HttpMethod.Get, allowing + "/");
        named.Headers.Host = $"dashboard.internal:{new Uri(allowing).Port}";
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(named, Token)).StatusCode);
    }

    [Fact]
    public async Task Opening_with_the_key_sets_a_session_token_not_the_key_and_redirects_to_the_address_without_it()
    {
        var address = await fixture.StartDashboardAsync("http://0.0.0.0:0", Key);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler);

        using var opened = await http.GetAsync($"{address}/runs?key={Key}&x=1", Token);
        Assert.Equal(HttpStatusCode.Redirect, opened.StatusCode);
        Assert.Equal("/runs?x=1", opened.Headers.Location!.OriginalString);
        var cookie = opened.Headers.GetValues("Set-Cookie").Single();
        Assert.DoesNotContain(Key, cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        var token = cookie.Split(';')[0];

        using var withToken = new HttpRequestMessage(HttpMethod.Get, $"{address}/runs?x=1");
        withToken.Headers.Add("Cookie", token);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withToken, Token)).StatusCode);
        // The raw key in the cookie is no session: only the derived token is.
        using var rawKey = new HttpRequestMessage(HttpMethod.Get, $"{address}/runs");
        rawKey.Headers.Add("Cookie", $"{ApiKeyMiddleware.CookieName}={Key}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(rawKey, Token)).StatusCode);
        using var blank = new HttpRequestMessage(HttpMethod.Get, $"{address}/runs");
        blank.Headers.Add("X-Api-Key", "   ");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(blank, Token)).StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("                    ")]
    public void A_blank_api_key_is_refused_at_start_even_on_loopback(string key)
    {
        var error = Assert.Throws<ArgumentException>(() => new IcdiffDashboardOptions { ApiKey = key }.Validate(["http://127.0.0.1:5080"]));
        Assert.Equal("Icdiff:Dashboard:ApiKey is blank; set a key of at least 16 characters, or leave the setting out on loopback.", error.Message);
    }

    /// <summary>A folder (filled by <paramref name="fill"/>) recorded as model m of a finished run, with the keys and stamps a listing gives.</summary>
    private async Task<(string RunId, string Folder)> RecordRunAsync(string name, Action<string> fill)
    {
        var folder = Directory.CreateTempSubdirectory($"icdiff-dash-{name}-").FullName;
        fill(folder);
        var images = new List<HistoryImage>();
        await foreach (var item in new LocalFolderCorpus(folder).ListAsync(Token))
        {
            images.Add(new HistoryImage("m", item.Key, null, 0, 0, item.Stamp));
        }

        var runId = $"hostile-{name}-{Guid.NewGuid():N}"[..40];
        var model = HistoryModel.Pending("m", folder) with { Scanned = images.Count };
        var run = new HistoryRun(runId, null, HistoryRunStates.Completed, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, fixture.Corpus.GalleryPath, 0, 0, null, null, "criterion", 4, "{}", null, false, [model]);
        await fixture.Store.RecordStartAsync(run, Token);
        await fixture.Store.RecordFinishAsync(run, images, [], Token);
        return (runId, folder);
    }

    /// <summary>A width x height RGB PNG streamed to disk (a gradient per row), never whole in memory.</summary>
    private static void WriteLargePng(string path, int width, int height)
    {
        using var file = File.Create(path);
        PngWriter.WriteGreyRows(file, width, height, y => (byte)(y * 255 / height));
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>Resets this process's peak resident size (Linux: 5 into clear_refs) and returns the current size; null elsewhere.</summary>
    private static long? ResetPeakResidentMegabytes()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return ResidentMegabytes("VmRSS");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? PeakResidentMegabytes() => ResidentMegabytes("VmHWM");

    private static long? ResidentMegabytes(string field) =>
        File.Exists("/proc/self/status") && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal)) is { } line
            ? long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024
            : null;
}
