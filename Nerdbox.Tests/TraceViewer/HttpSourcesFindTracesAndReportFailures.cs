using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// The HTTP sources against a real local server: the URLs and headers they send, how "latest" picks,
/// and that every failure is a <see cref="TraceViewerException"/> saying what went wrong where.
/// </summary>
public sealed class HttpSourcesFindTracesAndReportFailures
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Older = "11111111111111111111111111111111";
    private const string Newer = "22222222222222222222222222222222";
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    private static string OtlpResourceSpans(string traceId, long startNs, string name, string service = "nerdbox") => $$$"""
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"{{{service}}}"}}]},
         "scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"{{{traceId}}}","spanId":"00000000000000a1","name":"{{{name}}}",
           "kind":1,"startTimeUnixNano":"{{{startNs}}}","endTimeUnixNano":"{{{startNs + 5_000_000}}}","status":{}}]}]}
        """;

    private static string JaegerTrace(string traceId, long startUs, string name) => $$$"""
        {"traceID":"{{{traceId}}}","spans":[{"traceID":"{{{traceId}}}","spanID":"00000000000000b1","operationName":"{{{name}}}",
          "references":[],"startTime":{{{startUs}}},"duration":2500,"tags":[{"key":"error","type":"bool","value":true}],"processID":"p1"}],
         "processes":{"p1":{"serviceName":"nerdbox","tags":[]}} }
        """;

    [Fact]
    public async Task Jaeger_v3_latest_searches_the_service_over_the_last_hour_and_picks_the_newest_trace()
    {
        await using var server = await FixtureServer.StartAsync(app => app.MapGet("/api/v3/traces", () => Results.Text(
            $$$"""{"result":{"resourceSpans":[{{{OtlpResourceSpans(Older, Now - 600_000_000_000, "older")}}},{{{OtlpResourceSpans(Newer, Now - 60_000_000_000, "newer")}}}]}}""",
            "application/json")));

        var trace = await new JaegerV3Source(server.BaseUrl, "nerdbox").GetAsync(null, Ct);

        Assert.Equal(Newer, trace.TraceId);
        Assert.Equal("newer", Assert.Single(trace.Spans).Name);
        var q = Assert.Single(server.Requests).Query;
        Assert.Equal("nerdbox", q["query.service_name"]);
        var min = DateTimeOffset.Parse(q["query.start_time_min"], CultureInfo.InvariantCulture);
        var max = DateTimeOffset.Parse(q["query.start_time_max"], CultureInfo.InvariantCulture);
        Assert.InRange((max - min).TotalMinutes, 59.9, 60.1);
        Assert.InRange((DateTimeOffset.UtcNow - max).TotalMinutes, -1, 1);
    }

    [Fact]
    public async Task Jaeger_v1_latest_searches_by_service_in_microseconds_and_picks_the_newest_trace()
    {
        await using var server = await FixtureServer.StartAsync(app => app.MapGet("/api/traces", () => Results.Text(
            $$$"""{"data":[{{{JaegerTrace(Newer, Now / 1000 - 60_000_000, "newer")}}},{{{JaegerTrace(Older, Now / 1000 - 600_000_000, "older")}}}],"errors":null}""",
            "application/json")));

        var trace = await new JaegerSource(server.BaseUrl, "nerdbox").GetAsync(null, Ct);

        Assert.Equal(Newer, trace.TraceId);
        var span = Assert.Single(trace.Spans);
        Assert.Equal(("newer", 2.5, true), (span.Name, span.DurationMs, span.IsError));
        var q = Assert.Single(server.Requests).Query;
        Assert.Equal("nerdbox", q["service"]);
        var hour = long.Parse(q["end"], CultureInfo.InvariantCulture) - long.Parse(q["start"], CultureInfo.InvariantCulture);
        Assert.Equal(3_600_000_000, hour);
    }

    [Fact]
    public async Task Aspire_sends_the_api_key_and_reads_the_data_envelope()
    {
        await using var server = await AspireAsync();

        var trace = await new AspireDashboardSource(server.BaseUrl, apiKey: "secret").GetAsync(Older, Ct);

        Assert.Equal(Older, trace.TraceId);
        Assert.Equal(("older", "nerdbox-vm"), (trace.Spans[0].Name, trace.Spans[0].Service));
        var request = Assert.Single(server.Requests);
        Assert.Equal("/api/telemetry/traces/" + Older, request.Path);
        Assert.Equal("secret", request.Headers["x-api-key"]);
    }

    [Fact]
    public async Task Aspire_latest_lists_the_resource_and_picks_the_newest_trace()
    {
        await using var server = await AspireAsync();

        var trace = await new AspireDashboardSource(server.BaseUrl, "nerdbox", "secret").GetAsync(null, Ct);

        Assert.Equal(Newer, trace.TraceId);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/api/telemetry/traces", request.Path);
        Assert.Equal("nerdbox", request.Query["resource"]);
    }

    [Fact]
    public async Task Aspire_without_the_key_says_401_and_how_to_pass_one()
    {
        await using var server = await AspireAsync();

        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new AspireDashboardSource(server.BaseUrl).GetAsync(Older, Ct));

        Assert.Contains("401", e.Message);
        Assert.Contains("--api-key", e.Message);
        Assert.Contains("/api/telemetry/traces/" + Older, e.Message);
    }

    private static Task<FixtureServer> AspireAsync() => FixtureServer.StartAsync(app =>
    {
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Headers["x-api-key"] != "secret") ctx.Response.StatusCode = 401;
            else await next(ctx);
        });
        var older = OtlpResourceSpans(Older, Now - 600_000_000_000, "older", "nerdbox-vm");
        var newer = OtlpResourceSpans(Newer, Now - 60_000_000_000, "newer");
        app.MapGet("/api/telemetry/traces/{id}", (string id) => id == Older
            ? Results.Text($$$"""{"data":{"resourceSpans":[{{{older}}}]},"totalCount":1,"returnedCount":1}""", "application/json")
            : Results.NotFound());
        app.MapGet("/api/telemetry/traces", () =>
            Results.Text($$$"""{"data":{"resourceSpans":[{{{older}}},{{{newer}}}]},"totalCount":2,"returnedCount":2}""", "application/json"));
    });

    [Fact]
    public async Task Unknown_trace_404_names_the_url_for_every_source()
    {
        await using var server = await FixtureServer.StartAsync(_ => { });
        ITraceSource[] sources = [new JaegerSource(server.BaseUrl), new JaegerV3Source(server.BaseUrl), new AspireDashboardSource(server.BaseUrl)];

        foreach (var source in sources)
        {
            var e = await Assert.ThrowsAsync<TraceViewerException>(() => source.GetAsync(Newer, Ct));
            Assert.Contains("404", e.Message);
            Assert.Contains(server.BaseUrl.Authority, e.Message);
        }
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>", "not valid JSON")]
    [InlineData("", "empty")]
    [InlineData("""{"data":[]}""", "no spans")]
    [InlineData("""{"nothing":"here"}""", "not a Jaeger trace response")]
    [InlineData("""{"data":[{"spans":[{"operationName":"x"}]}]}""", "span 'x' has no traceID")]
    [InlineData("""{"data":null,"errors":[{"code":400,"msg":"trace ID is invalid"}]}""", "trace ID is invalid")]
    public async Task Bad_jaeger_bodies_are_reported_not_crashed_on(string body, string expected)
    {
        await using var server = await FixtureServer.StartAsync(app => app.MapGet("/api/traces/{id}", () => Results.Text(body, "application/json")));

        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new JaegerSource(server.BaseUrl).GetAsync(Newer, Ct));

        Assert.Contains(expected, e.Message);
        Assert.Contains("jaeger " + server.BaseUrl, e.Message);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_times_out()
    {
        await using var server = await FixtureServer.StartAsync(app =>
            app.MapGet("/api/v3/traces/{id}", async (HttpContext ctx) => await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted)));

        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<TraceViewerException>(() =>
            new JaegerV3Source(server.BaseUrl, timeout: TimeSpan.FromMilliseconds(300)).GetAsync(Newer, Ct));

        Assert.Contains("no answer within 0.3 s", e.Message);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0, 10);
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_reported()
    {
        Uri gone;
        await using (var server = await FixtureServer.StartAsync(_ => { })) gone = server.BaseUrl;

        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new JaegerSource(gone).GetAsync(Newer, Ct));

        Assert.StartsWith($"GET {gone}api/traces/{Newer}", e.Message);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("not-hex")]
    [InlineData("123456789012345678901234567890123")]
    public async Task A_bad_trace_id_is_refused_before_any_request(string id)
    {
        await using var server = await FixtureServer.StartAsync(_ => { });

        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new JaegerV3Source(server.BaseUrl).GetAsync(id, Ct));

        Assert.Contains("is not a trace id", e.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Latest_from_jaeger_needs_a_service()
    {
        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new JaegerSource(new Uri("http://127.0.0.1:9")).GetAsync(null, Ct));
        Assert.Contains("--service", e.Message);
    }
}
