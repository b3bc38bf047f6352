using System.Diagnostics;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nerdbox.Tests.Telemetry;

public class HostSpanExporterTests
{
    [Theory]
    [InlineData(ExportProcessorType.Simple)]
    [InlineData(ExportProcessorType.Batch)]
    public void Activity_spans_arrive_with_resource_scope_and_ids(ExportProcessorType processor)
    {
        using var source = new ActivitySource(TestBatches.UniqueName("Nerdbox.Tests.Host"), "1.2.3");
        var sink = new InMemorySpanSink();
        ActivityTraceId traceId;
        ActivitySpanId bootId, vmId;
        using (Sdk.CreateTracerProviderBuilder()
                   .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("nerdbox", serviceVersion: "0.1.0"))
                   .AddSource(source.Name)
                   .AddSpanSink(sink, processor)
                   .Build())
        {
            using (var boot = source.StartActivity("boot")!)
            {
                traceId = boot.TraceId;
                bootId = boot.SpanId;
                using var vm = source.StartActivity("vm.start")!;
                vm.SetTag("vm.cpus", 2);
                vmId = vm.SpanId;
            }
        } // disposing the provider flushes the batch processor

        var batches = sink.Snapshot();
        Assert.NotEmpty(batches);
        Assert.All(batches, b => Assert.Equal("nerdbox",
            b.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue));
        Assert.Equal("0.1.0", batches[0].Resource.Attributes.Single(a => a.Key == "service.version").Value.StringValue);
        var scopes = batches.SelectMany(b => b.ScopeSpans).ToList();
        Assert.All(scopes, s => Assert.Equal((source.Name, "1.2.3"), (s.Scope.Name, s.Scope.Version)));

        var spans = scopes.SelectMany(s => s.Spans).ToList();
        Assert.Equal(2, spans.Count);
        var bootSpan = spans.Single(s => s.Name == "boot");
        var vmSpan = spans.Single(s => s.Name == "vm.start");
        Assert.Equal(TestBatches.Bytes(traceId), bootSpan.TraceId);
        Assert.Equal(TestBatches.Bytes(traceId), vmSpan.TraceId);
        Assert.Equal(TestBatches.Bytes(bootId), bootSpan.SpanId);
        Assert.Equal(TestBatches.Bytes(vmId), vmSpan.SpanId);
        Assert.Equal(TestBatches.Bytes(bootId), vmSpan.ParentSpanId);
        Assert.True(bootSpan.ParentSpanId.IsEmpty);
        Assert.Equal(2, vmSpan.Attributes.Single(a => a.Key == "vm.cpus").Value.IntValue);
    }

    [Fact]
    public void A_throwing_sink_does_not_fail_the_export()
    {
        var exporter = new HostSpanExporter(new ThrowingSink());
        using var source = new ActivitySource(TestBatches.UniqueName("Nerdbox.Tests.Throwing"));
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var activity = source.StartActivity("x")!;
        activity.Stop();

        Assert.Equal(ExportResult.Success, exporter.Export(new Batch<Activity>([activity], 1)));
    }

    [Fact]
    public void The_set_hands_each_batch_to_every_sink_even_when_one_throws()
    {
        var first = new InMemorySpanSink("first");
        var second = new InMemorySpanSink("second");
        var set = new SpanSinkSet([first, new ThrowingSink(), second]);

        set.Submit(TestBatches.Make(3));

        Assert.Single(first.Snapshot());
        Assert.Single(second.Snapshot());
        Assert.Equal(6, set.Stats.SpansSent);
        Assert.Equal(["first", "throws", "second"], set.StatsBySink.Select(s => s.Name));
    }

    private sealed class ThrowingSink : ISpanSink
    {
        public string Name => "throws";
        public SinkStats Stats => new(0, 0, null);
        public void Submit(OpenTelemetry.Proto.Trace.V1.ResourceSpans batch) => throw new InvalidOperationException("broken sink");
        public Task FlushAsync(TimeSpan timeout) => Task.CompletedTask;
    }
}
