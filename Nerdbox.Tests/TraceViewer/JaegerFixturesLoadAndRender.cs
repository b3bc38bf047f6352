using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Nerdbox.Shim.Cli;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>Jaeger's own responses, edge cases included, load through the matching source and render.</summary>
public sealed class JaegerFixturesLoadAndRender
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task V1_envelope_merges_the_duplicated_span_and_roots_the_span_whose_parent_is_missing()
    {
        const string id = "83a9efd15c1c98a977e0711cc93ee28b";
        await using var server = await FixtureServer.StartAsync(app =>
            app.MapGet("/api/traces/{id}", (string id) => id == "83a9efd15c1c98a977e0711cc93ee28b" ? FixtureServer.Json("api-traces-envelope.json") : Results.NotFound()));

        var trace = await new JaegerSource(server.BaseUrl).GetAsync(id, Ct);

        Assert.Equal("/api/traces/" + id, Assert.Single(server.Requests).Path);
        Assert.Equal(id, trace.TraceId);
        var span = Assert.Single(trace.Spans);
        Assert.Same(span, Assert.Single(trace.Roots));
        Assert.Equal(("e127af99e3b3e074", "okey-dokey-0", "telemetrygen"), (span.SpanId, span.Name, span.Service));
        Assert.Equal("909541b92cf05311", span.ParentId);
        Assert.True(span.IsOrphan);
        Assert.Equal(0.123, span.DurationMs, 6);
        Assert.Equal(DateTime.UnixEpoch.AddTicks(1706678909209712L * 10), span.StartUtc);
        Assert.Equal("telemetrygen-client", span.Attributes["peer.service"]);
        Assert.False(span.IsError);
        Assert.Contains(trace.Warnings, w => w.Contains("appears 2 times"));

        var tree = TraceCommand.Render(trace, "tree");
        Assert.Contains("* ", tree);
        Assert.Contains("telemetrygen  okey-dokey-0  [parent 909541b92cf05311 not in trace]", tree);
        Assert.Contains("0.123", tree);

        var report = await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"));
        var task = Assert.Single(report.Tasks!);
        Assert.Equal(("s1", "okey-dokey-0", 0L, 1L), (task.Id, task.Name.Trim(), task.Start, task.End));
        Assert.Equal(["active"], task.Classes);
    }

    [Fact]
    public async Task Ui_trace_ignores_references_into_other_traces_and_keeps_clashing_span_ids_visible()
    {
        const string id = "00000000000000000000000000000001";
        await using var server = await FixtureServer.StartAsync(app =>
            app.MapGet("/api/traces/{id}", (string id) => id == "00000000000000000000000000000001" ? FixtureServer.Json("ui-trace.json") : Results.NotFound()));

        var trace = await new JaegerSource(server.BaseUrl).GetAsync(id, Ct);

        Assert.Equal(id, trace.TraceId);
        Assert.Equal(5, trace.Spans.Count);
        Assert.Equal(["service-x", "service-y"], trace.Services.Order());

        // Two different spans share id ...02: the first keeps it, the second gets a suffix and stays in view.
        Assert.Equal(["some-operation", "test-general-conversion"], trace.Roots.Select(r => r.Name));
        var clash = trace.Roots[0];
        Assert.Equal("0000000000000002~2", clash.SpanId);
        Assert.True(clash.IsError);
        Assert.Equal("9223372036854775222", clash.Attributes["javascript_limit"]); // past 2^53, kept exact
        Assert.Equal("AAAwOQ==", clash.Attributes["blob"]);
        Assert.Equal("72.5", clash.Attributes["temperature"]);
        Assert.Contains(trace.Warnings, w => w.Contains("used by different spans"));

        var root = trace.Roots[1];
        Assert.Equal(("0000000000000002", "service-x", false), (root.SpanId, root.Service, root.IsOrphan));
        // reference-test's first CHILD_OF points into trace ...ff; its parent is the one in this trace.
        Assert.Equal(["reference-test", "some-operation"], root.Children.Select(c => c.Name));
        Assert.All(root.Children, c => Assert.Equal(("service-y", 1), (c.Service, c.Depth)));
        var reference = root.Children[0];
        Assert.Equal("0000000000000004", reference.SpanId);
        Assert.Equal("0000000000000002", reference.ParentId);
        var leaf = Assert.Single(reference.Children);
        Assert.Equal(("preserveParentID-test", 2, 0.004), (leaf.Name, leaf.Depth, Math.Round(leaf.DurationMs, 6)));

        var tree = TraceCommand.Render(trace, "tree").Split('\n');
        Assert.Contains(tree, l => l.EndsWith("service-y      preserveParentID-test")); // two levels of indent
        Assert.Contains(tree, l => l.EndsWith("service-x  some-operation  [error]"));

        var report = await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"));
        Assert.Equal(["s1", "s2", "s3", "s4", "s5"], report.Tasks!.Select(t => t.Id));
        Assert.Contains("crit", report.Tasks![0].Classes);
        Assert.Equal("· preserveParentID-test (service-y)", report.Tasks[3].Name.Trim());
        Assert.Equal("reference-test", report.Tasks[3].Section);
    }

    [Fact]
    public async Task V3_get_trace_without_timestamps_renders_at_offset_zero()
    {
        const string id = "00000000000000000000000000000001";
        await using var server = await FixtureServer.StartAsync(app =>
            app.MapGet("/api/v3/traces/{id}", (string id) => id == "00000000000000000000000000000001" ? FixtureServer.Json("api-v3-GetTrace.json") : Results.NotFound()));

        var trace = await new JaegerV3Source(server.BaseUrl).GetAsync(id, Ct);

        Assert.Equal("/api/v3/traces/" + id, Assert.Single(server.Requests).Path);
        var span = Assert.Single(trace.Spans);
        Assert.Equal(("0000000000000002", "foobar", "unknown_service"), (span.SpanId, span.Name, span.Service));
        Assert.Null(span.ParentId);
        Assert.True(span.IsError);
        Assert.False(span.HasTimes);
        Assert.Equal(0, span.DurationMs);
        Assert.Contains(trace.Warnings, w => w.Contains("no span has timestamps"));

        Assert.Contains("foobar  [error]  [no timestamps]", TraceCommand.Render(trace, "tree"));
        var task = Assert.Single((await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"))).Tasks!);
        Assert.Equal((0L, 1L), (task.Start, task.End));
        Assert.Equal(["active", "crit"], task.Classes);
    }

    [Theory]
    [InlineData("api-traces-envelope.json", 1, "okey-dokey-0")]
    [InlineData("ui-trace.json", 5, "some-operation")]
    [InlineData("api-v3-GetTrace.json", 1, "foobar")]
    public async Task Each_fixture_also_loads_as_a_file(string fixture, int spans, string firstRoot)
    {
        var trace = await new OtlpFileSource(Fixtures.Path(fixture)).GetAsync(null, Ct);

        Assert.Equal(spans, trace.Spans.Count);
        Assert.Equal(firstRoot, trace.Roots[0].Name);
        var report = await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"));
        Assert.Equal(spans, report.Tasks!.Count);
    }
}
