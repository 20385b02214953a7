using System.Globalization;
using Microsoft.Playwright;

namespace Icdiff.Dashboard.Tests;

/// <summary>The dashboard as a user sees it: Debian's Chromium, driven by Playwright, over a history of real runs.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardFixture fixture)
{
    private async Task<(IPage Page, List<string> Dialogs)> OpenAsync(string path)
    {
        Assert.SkipWhen(fixture.Browser is null, fixture.BrowserSkipReason ?? "no browser");
        var page = await fixture.Browser!.NewPageAsync();
        var dialogs = new List<string>();
        // Any alert() means a name ran as script: collect it (and dismiss it, or the page would hang).
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            await dialog.DismissAsync();
        };
        var response = await page.GotoAsync(fixture.BaseUrl + path, new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        return (page, dialogs);
    }

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, name), FullPage = true });

    [Fact]
    public async Task Overview_lists_every_model_with_its_latest_ratio_one_chart_point_per_run_and_the_live_run()
    {
        var (page, dialogs) = await OpenAsync("/");
        await ScreenshotAsync(page, "overview.png");
        var latest = (await fixture.Store.GetRunAsync(fixture.RunIds[^1], TestContext.Current.CancellationToken))!;
        foreach (var spec in fixture.Corpus.Spec.Models.Select(m => m.Name).Append("model-c").Select(n => new { Name = n }))
        {
            var card = page.Locator($".card.model[data-model=\"{spec.Name}\"]");
            Assert.Equal(1, await card.CountAsync());
            var expected = (latest.Models.Single(m => m.Model == spec.Name).Ratio * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";
            Assert.Equal(expected, await card.Locator(".latest-ratio").InnerTextAsync());
            Assert.Equal(fixture.RunIds.Count, await card.Locator("svg.ratio-chart circle.point").CountAsync());
            Assert.Equal(1, await card.Locator("svg.ratio-chart polygon.interval").CountAsync());
        }

        var live = page.Locator($"#running .progress[data-run=\"{DashboardFixture.RunningRunId}\"]");
        Assert.Equal(1, await live.CountAsync());
        Assert.Equal("17", await live.Locator(".done").InnerTextAsync());
        Assert.Equal("17", await live.Locator("progress").GetAttributeAsync("value"));
        // A page showing a running audit reloads itself to follow it.
        Assert.Equal(1, await page.Locator("meta[http-equiv=refresh]").CountAsync());
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task Review_page_shows_generated_and_gallery_images_side_by_side_with_level_and_score()
    {
        var (page, dialogs) = await OpenAsync($"/runs/{fixture.RunIds[0]}/review?model=model-a&level=5");
        var pairs = page.Locator(".pair");
        Assert.True(await pairs.CountAsync() > 0, "no level-5 pair on the review page");
        var first = pairs.First;
        Assert.Equal("5", await first.GetAttributeAsync("data-level"));
        // Both thumbnails were served from the original corpora and decoded by the browser.
        foreach (var selector in (string[])["img.generated", "img.gallery"])
        {
            var width = await first.Locator(selector).EvaluateAsync<int>("img => img.naturalWidth");
            Assert.True(width > 0, $"{selector} did not load");
        }

        Assert.Contains("level 5", await first.InnerTextAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(page, "review.png");
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task Names_that_are_markup_are_shown_as_text_and_never_run()
    {
        var (review, reviewDialogs) = await OpenAsync($"/runs/{fixture.RunIds[0]}/review?model=model-a");
        var names = await review.Locator(".generated-name").AllInnerTextsAsync();
        Assert.Contains(DashboardFixture.ScriptName, names);
        Assert.Equal(0, await review.EvaluateAsync<int>("() => document.scripts.length"));

        var (run, runDialogs) = await OpenAsync($"/runs/{fixture.RunIds[0]}");
        await ScreenshotAsync(run, "run.png");
        Assert.Contains(DashboardFixture.TagName, await run.Locator("table.skips").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await run.Locator("img[src=x]").CountAsync());
        Assert.Equal(0, await run.EvaluateAsync<int>("() => document.scripts.length"));
        // A prompt (from model-c's manifest) with a script tag in it is text too.
        var (prompts, promptDialogs) = await OpenAsync($"/runs/{fixture.RunIds[0]}/review?model=model-c");
        Assert.Contains(DashboardFixture.HostilePrompt, await prompts.Locator(".prompt").AllInnerTextsAsync());
        Assert.Equal(0, await prompts.EvaluateAsync<int>("() => document.scripts.length"));
        await ScreenshotAsync(prompts, "review-prompts.png");
        Assert.Empty(reviewDialogs);
        Assert.Empty(runDialogs);
        Assert.Empty(promptDialogs);

        // The raw HTML holds the escaped forms.
        using var http = new HttpClient();
        var html = await http.GetStringAsync($"{fixture.BaseUrl}/runs/{fixture.RunIds[0]}", TestContext.Current.CancellationToken);
        Assert.Contains("&lt;img src=x onerror=alert(2)&gt;.png", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_page_shows_each_models_figures_and_level_histogram_and_the_running_run_shows_its_progress()
    {
        var (page, _) = await OpenAsync($"/runs/{fixture.RunIds[1]}");
        foreach (var spec in fixture.Corpus.Spec.Models)
        {
            var row = page.Locator($"table.models tr[data-model=\"{spec.Name}\"]");
            Assert.Equal(6, await row.Locator("svg.level-histogram rect").CountAsync());
            // What changed: the same demo again, so unchanged, against the run before it.
            var change = await row.Locator("td.change").InnerTextAsync();
            Assert.Contains("unchanged", change, StringComparison.Ordinal);
            Assert.Contains(fixture.RunIds[0], change, StringComparison.Ordinal);
        }

        var (first, _) = await OpenAsync($"/runs/{fixture.RunIds[0]}");
        Assert.Contains("first run", await first.Locator("table.models td.change").First.InnerTextAsync(), StringComparison.Ordinal);

        var (live, _) = await OpenAsync($"/runs/{DashboardFixture.RunningRunId}");
        Assert.Contains("17 of 40", await live.Locator(".progress").InnerTextAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(live, "live-run.png");
    }
}
