using System.Diagnostics;
using Nerdbox.Api.Contract;

namespace Nerdbox.GuestAgent.Tracing;

/// <summary>
/// The guest's spans: one <see cref="ActivitySource"/> for the agent, and a listener that turns each
/// finished span into OTLP data in the <see cref="SpanBuffer"/>. No SDK pipeline: the guest has no
/// exporter of its own, the host relays for it.
/// </summary>
internal static class GuestTracing
{
    public const string SourceName = "Nerdbox.GuestAgent";
    public static readonly ActivitySource Source = new(SourceName, typeof(GuestTracing).Assembly.GetName().Version?.ToString(3));
    /// <summary>The buffer; replaced by <see cref="Start"/> with the configured bounds.</summary>
    public static SpanBuffer Buffer { get; private set; } = new();

    /// <summary>Completes when the host first opens the trace stream.</summary>
    public static readonly TaskCompletionSource StreamOpened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static ActivityListener? _listener;

    public static void Start(int maxSpans = SpanBuffer.DefaultMaxSpans, long maxBytes = SpanBuffer.DefaultMaxBytes, int workloadItems = 0, long workloadBytes = 0)
    {
        Buffer = new SpanBuffer(maxSpans, maxBytes, workloadItems, workloadBytes);
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SourceName,
            // Sample what the host sampled: a span whose remote parent was not recorded is not recorded either.
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                o.Parent == default || o.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.PropagationData,
            ActivityStopped = a =>
            {
                if (!a.Recorded) return;
                var span = ActivityToOtlp.Convert(a);
                if (a.GetCustomProperty(SpanIdProperty) is ActivitySpanId chosen) span.SpanId = IdBytes(chosen);
                Buffer.Add(a.Source.Name, span);
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private const string SpanIdProperty = "nerdbox.otlp.span_id";

    /// <summary>
    /// Gives a span, in its OTLP form, an id chosen before it started (a container's start span, which its
    /// workload was told as its parent before the span existed). Only for spans that have no children.
    /// </summary>
    public static void UseSpanId(Activity? activity, ActivitySpanId id) => activity?.SetCustomProperty(SpanIdProperty, id);

    private static Google.Protobuf.ByteString IdBytes(ActivitySpanId id)
    {
        Span<byte> bytes = stackalloc byte[8];
        id.CopyTo(bytes);
        return Google.Protobuf.ByteString.CopyFrom(bytes);
    }

    /// <summary>Marks a span failed with the exception's message, the way OpenTelemetry records errors.</summary>
    public static void RecordError(Activity? activity, Exception e)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = e.GetType().FullName,
            ["exception.message"] = e.Message,
        }));
    }
}
