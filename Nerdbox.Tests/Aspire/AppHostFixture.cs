using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Aspire;

/// <summary>
/// The real AppHost under Aspire.Hosting.Testing, with the dashboard on: started once for the
/// class, waited on until the shim is healthy, then one sample VM booted through the shim.
/// </summary>
public sealed class AppHostFixture(GuestImageFixture image) : IAsyncLifetime
{
    public const string DashboardResource = "aspire-dashboard";

    public DistributedApplication App { get; private set; } = null!;
    public TimeSpan StartToHealthy { get; private set; }
    public SampleRun Sample { get; private set; } = null!;
    public Uri DashboardUrl { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";
    public string BrowserToken { get; private set; } = "";

    public sealed record SampleRun(string TraceId, int ExitStatus, string Output, string Backend, double BootToOutputMs);

    public async ValueTask InitializeAsync()
    {
        // The image is built (or found) first, so that the start-up figure is the app's own.
        await image.ImageAsync();
        var sw = Stopwatch.StartNew();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Nerdbox_AppHost>([], (options, _) =>
        {
            options.DisableDashboard = false;
            options.AllowUnsecuredTransport = true;
        });
        App = await builder.BuildAsync();
        await App.StartAsync();
        await App.ResourceNotifications.WaitForResourceHealthyAsync("shim").WaitAsync(TimeSpan.FromMinutes(3));
        StartToHealthy = sw.Elapsed;
        Console.Error.WriteLine($"AppHost: shim healthy {StartToHealthy.TotalSeconds:0.0} s after start");

        var env = await DashboardEnvironmentAsync();
        ApiKey = env.GetValueOrDefault("DASHBOARD__API__PRIMARYAPIKEY") ?? "";
        BrowserToken = env.GetValueOrDefault("DASHBOARD__FRONTEND__BROWSERTOKEN") ?? "";
        DashboardUrl = App.GetEndpoint(DashboardResource, "http");

        using var shim = App.CreateHttpClient("shim", "http");
        shim.Timeout = TimeSpan.FromMinutes(3);
        var response = await shim.PostAsync("/samples/run", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"sample run failed: {body}");
        Sample = System.Text.Json.JsonSerializer.Deserialize<SampleRun>(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
    }

    /// <summary>The dashboard's environment as Aspire reports it (its API key and browser token are made per run).</summary>
    private async Task<IReadOnlyDictionary<string, string>> DashboardEnvironmentAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var e in App.ResourceNotifications.WatchAsync(cts.Token))
        {
            if (e.Resource.Name != DashboardResource) continue;
            var env = e.Snapshot.EnvironmentVariables.Where(v => v.Value is not null).ToDictionary(v => v.Name, v => v.Value!);
            if (env.ContainsKey("DASHBOARD__API__PRIMARYAPIKEY")) return env;
        }
        throw new TimeoutException("the dashboard's environment was not reported");
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
