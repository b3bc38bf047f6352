using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.AppHost.Shim;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Aspire;

/// <summary>
/// The real AppHost under Aspire.Hosting.Testing, with the dashboard on, shared by the Aspire tests
/// of <see cref="Vm.VmCollection"/>. It starts on the first <see cref="StartAsync"/> (so that the
/// collection's other tests do not pay for it), is waited on until the shim is healthy, then boots
/// one sample VM through the shim; it stops when the collection is done.
/// </summary>
public sealed class AppHostFixture(GuestImageFixture image) : IAsyncLifetime
{
    public const string DashboardResource = "aspire-dashboard";

    private readonly Lock _gate = new();
    private Task? _start;

    public DistributedApplication App { get; private set; } = null!;
    public TimeSpan StartToHealthy { get; private set; }
    public SampleRun Sample { get; private set; } = null!;
    public Uri DashboardUrl { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";
    public string BrowserToken { get; private set; } = "";

    /// <summary>The shim's work key, as the AppHost generated it for this run.</summary>
    public string WorkKey { get; private set; } = "";

    public sealed record SampleRun(string TraceId, int ExitStatus, string Output, string Backend, double BootToOutputMs);

    /// <summary>Starts the AppHost and the sample run once; later calls wait on (or rethrow) that first start.</summary>
    public Task StartAsync()
    {
        lock (_gate) return _start ??= Task.Run(StartCoreAsync);
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    private async Task StartCoreAsync()
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

        WorkKey = await App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ParameterResource>()
            .Single(p => p.Name == ShimWorkKey.ParameterName).GetValueAsync(default) ?? "";
        using var shim = ShimClient();
        shim.Timeout = TimeSpan.FromMinutes(3);
        var response = await shim.PostAsync("/samples/run", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"sample run failed: {body}");
        Sample = System.Text.Json.JsonSerializer.Deserialize<SampleRun>(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
    }

    /// <summary>A client of the shim's HTTP endpoint that sends the work key, as the dashboard's command does.</summary>
    public HttpClient ShimClient()
    {
        var client = App.CreateHttpClient("shim", ShimResourceBuilderExtensions.HttpEndpointName);
        client.DefaultRequestHeaders.Authorization = new(ShimWorkKey.Scheme, WorkKey);
        return client;
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
        Task? start;
        lock (_gate) start = _start;
        if (start is null) return;
        try { await start; } catch { /* reported by the tests that asked for it */ }
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
