using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// A real HTTP server on 127.0.0.1 (random port) standing in for Jaeger or the Aspire dashboard,
/// so the HTTP sources are tested over the wire. Records each request's path, query and headers.
/// </summary>
public sealed class FixtureServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FixtureServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<HttpRequestRecord> Requests { get; } = new();

    public static async Task<FixtureServer> StartAsync(Action<WebApplication> routes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FixtureServer? server = null;
        app.Use(async (ctx, next) =>
        {
            server!.Requests.Enqueue(new HttpRequestRecord(ctx.Request.Path, ctx.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
                ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
            await next(ctx);
        });
        routes(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server = new FixtureServer(app, new Uri(address));
        return server;
    }

    /// <summary>Serves a fixture file as JSON.</summary>
    public static IResult Json(string fixture) => Results.Text(File.ReadAllText(Fixtures.Path(fixture)), "application/json");

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed record HttpRequestRecord(string Path, IReadOnlyDictionary<string, string> Query, IReadOnlyDictionary<string, string> Headers);

/// <summary>The fixture files copied next to the test assembly.</summary>
public static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "jaeger", name);
}
