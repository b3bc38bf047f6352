using Nerdbox.Api.Contract;
using System.Diagnostics;
using Grpc.Core;

namespace Nerdbox.GuestAgent.Tracing;

/// <summary>
/// A server span for every RPC, child of the W3C trace context the host sends with the call.
/// Telemetry plumbing (the trace stream itself, clock probes) is not traced, as an exporter
/// does not trace its own work. Plain generic methods rather than an <c>Interceptor</c>'s generic virtual ones,
/// which NativeAOT would instantiate at run time for every method.
/// </summary>
internal sealed class ServerSpans
{
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        using var span = StartSpan(context);
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e)
        {
            Fail(span, e);
            throw;
        }
    }

    public async Task ServerStreamingAsync<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        using var span = StartSpan(context);
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e)
        {
            Fail(span, e);
            throw;
        }
    }

    private static Activity? StartSpan(ServerCallContext context)
    {
        if (!TracedMethods.TracedByGuest(context.Method)) return null;
        var traceparent = context.RequestHeaders.GetValue("traceparent");
        var tracestate = context.RequestHeaders.GetValue("tracestate");
        ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var parent);
        var name = context.Method.TrimStart('/');
        var slash = name.IndexOf('/');
        var span = GuestTracing.Source.StartActivity(name, ActivityKind.Server, parent);
        span?.SetTag("rpc.system", "grpc");
        span?.SetTag("rpc.service", slash > 0 ? name[..slash] : name);
        span?.SetTag("rpc.method", slash > 0 ? name[(slash + 1)..] : name);
        return span;
    }

    private static void Fail(Activity? span, Exception e)
    {
        GuestTracing.RecordError(span, e);
        span?.SetTag("rpc.grpc.status_code", (int)(e is RpcException r ? r.StatusCode : StatusCode.Unknown));
    }
}
