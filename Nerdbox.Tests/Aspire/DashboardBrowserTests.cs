using Microsoft.Playwright;
using Nerdbox.Telemetry;

namespace Nerdbox.Tests.Aspire;

/// <summary>
/// The dashboard's trace view of the sample boot, as a person sees it: Debian's Chromium, headless,
/// driven by Playwright, logs in with the dashboard's browser token and opens the trace's detail page.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class DashboardBrowserTests(AppHostFixture app)
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_trace_page_shows_the_guest_spans_of_the_sample_boot()
    {
        Assert.True(File.Exists(ChromiumPath),
            $"{ChromiumPath} is missing: the browser test needs Debian's Chromium (apt-get install chromium, or bash setup.sh --packages-only)");
        await app.StartAsync();
        var traceId = app.Sample.TraceId;
        await WaitForTraceInDashboardAsync(traceId);

        var profile = Directory.CreateTempSubdirectory("nerdbox-chromium-");
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.FullName, new()
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // Playwright passes the profile as --user-data-dir itself (it refuses the flag in Args).
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync"],
                // Tall enough for the whole sample trace (about 45 rows): the grid scrolls inside the page, so a full-page shot would not show more.
                ViewportSize = new() { Width = 1600, Height = 1900 },
                Timeout = (float)Patience.TotalMilliseconds,
            });
            context.SetDefaultTimeout((float)Patience.TotalMilliseconds);
            context.SetDefaultNavigationTimeout((float)Patience.TotalMilliseconds);
            var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();

            // The token is exchanged for an auth cookie, then the dashboard sends the browser on to its home page.
            await page.GotoAsync(new Uri(app.DashboardUrl, $"/login?t={Uri.EscapeDataString(app.BrowserToken)}").ToString());
            await page.WaitForURLAsync(url => !new Uri(url).AbsolutePath.StartsWith("/login", StringComparison.OrdinalIgnoreCase));

            await page.GotoAsync(new Uri(app.DashboardUrl, $"/traces/detail/{traceId}").ToString());
            Assert.DoesNotContain("/login", new Uri(page.Url).AbsolutePath);
            // Blazor Server: the rows arrive over the circuit after the first paint, so wait on what should be shown.
            foreach (var name in new[] { "shim.SampleRun", "task.Create", "crun.Start" })
                await Assertions.Expect(page.GetByText(name, new() { Exact = true }).First).ToBeVisibleAsync(new() { Timeout = (float)Patience.TotalMilliseconds });
            await Assertions.Expect(page.GetByText(ShimTracing.GuestServiceName).First).ToBeVisibleAsync(new() { Timeout = (float)Patience.TotalMilliseconds });

            var shotName = $"dashboard-trace-{traceId}";
            var shot = Path.Combine(AppContext.BaseDirectory, "screenshots", shotName + ".png");
            Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
            var png = await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
            TestContext.Current.AddAttachment(shotName, png, "image/png");
            TestContext.Current.SendDiagnosticMessage($"screenshot: {shot}");
            Console.Error.WriteLine($"dashboard trace screenshot: {shot}");
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The page is only worth opening once the dashboard holds the guest's spans (they arrive in batches).</summary>
    private async Task WaitForTraceInDashboardAsync(string traceId)
    {
        using var http = new HttpClient { BaseAddress = app.DashboardUrl };
        http.DefaultRequestHeaders.Add("x-api-key", app.ApiKey);
        var deadline = DateTime.UtcNow + Patience;
        var body = "";
        while (DateTime.UtcNow < deadline)
        {
            var response = await http.GetAsync($"/api/telemetry/traces/{traceId}");
            body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && body.Contains("\"crun.Start\"") && body.Contains("\"shim.SampleRun\"")) return;
            await Task.Delay(1000);
        }
        Assert.Fail($"the dashboard did not get trace {traceId} with its guest spans within {Patience.TotalSeconds:0} s: {body[..Math.Min(body.Length, 500)]}");
    }
}
