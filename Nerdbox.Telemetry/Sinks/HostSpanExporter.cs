using System.Diagnostics;
using Nerdbox.Api.Contract;
using OpenTelemetry;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// The shim's own spans, out of the OpenTelemetry SDK and into the same sinks as the guest's:
/// each exported batch becomes one <see cref="ResourceSpans"/> carrying the provider's resource
/// (<c>service.name</c> nerdbox, ...), one scope per ActivitySource. The sink queues, so Export is quick;
/// it never throws and always reports success (what a sink drops, it counts).
/// </summary>
public sealed class HostSpanExporter(ISpanSink sink) : BaseExporter<Activity>
{
    private OtlpResource? _resource;

    public ISpanSink Sink { get; } = sink;

    public override ExportResult Export(in Batch<Activity> batch)
    {
        try
        {
            var resourceSpans = new ResourceSpans { Resource = _resource ??= ConvertResource() };
            var scopes = new Dictionary<(string, string?), ScopeSpans>();
            foreach (var activity in batch)
            {
                var key = (activity.Source.Name, activity.Source.Version);
                if (!scopes.TryGetValue(key, out var scope))
                {
                    scope = new ScopeSpans { Scope = new InstrumentationScope { Name = key.Name, Version = key.Version ?? "" } };
                    scopes.Add(key, scope);
                    resourceSpans.ScopeSpans.Add(scope);
                }
                scope.Spans.Add(ActivityToOtlp.Convert(activity));
            }
            if (resourceSpans.ScopeSpans.Count > 0) Sink.Submit(resourceSpans);
        }
        catch (Exception)
        {
            // Never out of Export: a tracing fault must not surface in the traced code's processor thread.
        }
        return ExportResult.Success;
    }

    /// <summary>Hands over what the sink still holds when the provider shuts down.</summary>
    protected override bool OnShutdown(int timeoutMilliseconds)
    {
        try
        {
            var timeout = timeoutMilliseconds == Timeout.Infinite ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(timeoutMilliseconds);
            return Sink.FlushAsync(timeout).Wait(timeout);
        }
        catch (Exception)
        {
            return false;
        }
    }

    private OtlpResource ConvertResource()
    {
        var resource = new OtlpResource();
        var sdkResource = ParentProvider?.GetResource();
        if (sdkResource is null) return resource;
        foreach (var (key, value) in sdkResource.Attributes)
            if (ActivityToOtlp.ToAnyValue(value) is { } any) resource.Attributes.Add(new KeyValue { Key = key, Value = any });
        return resource;
    }
}
