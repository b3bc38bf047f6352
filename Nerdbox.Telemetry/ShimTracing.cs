using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Nerdbox.Telemetry;

/// <summary>The shim's telemetry identity (service names, its one ActivitySource and one Meter), and how a failure is recorded on a span.</summary>
public static class ShimTracing
{
    public const string SourceName = "Nerdbox.Shim";
    public const string ServiceName = "nerdbox";
    public const string GuestServiceName = "nerdbox-vm";

    public static readonly ActivitySource Source = new(SourceName, typeof(ShimTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>The shim's counters (sinks, relay) all live on this meter.</summary>
    public static readonly Meter Meter = new(SourceName, typeof(ShimTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>Marks the span failed with the exception, as OpenTelemetry records errors.</summary>
    public static void Fail(this Activity? activity, Exception e)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message.Split('\n')[0]);
        activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = e.GetType().FullName,
            ["exception.message"] = e.Message,
        }));
    }

    /// <summary>Runs <paramref name="work"/> inside a span that ends, with error status on failure, on every path.</summary>
    public static async Task<T> InSpanAsync<T>(string name, Func<Activity?, Task<T>> work, ActivityKind kind = ActivityKind.Internal)
    {
        using var span = Source.StartActivity(name, kind);
        try
        {
            return await work(span);
        }
        catch (Exception e)
        {
            span.Fail(e);
            throw;
        }
    }

    public static async Task InSpanAsync(string name, Func<Activity?, Task> work)
    {
        using var span = Source.StartActivity(name);
        try
        {
            await work(span);
        }
        catch (Exception e)
        {
            span.Fail(e);
            throw;
        }
    }
}
