using Nerdbox.Api.Contract;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Agent;

/// <summary>
/// A client span for every call to the guest agent, and the W3C trace context in the call's
/// headers so that the guest's server span is its child. Telemetry plumbing is not traced.
/// </summary>
internal sealed class ClientSpanInterceptor : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var span = Start(context.Method.FullName);
        var call = continuation(request, WithTraceContext(context, span));
        return new AsyncUnaryCall<TResponse>(EndWith(call.ResponseAsync, span), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var span = Start(context.Method.FullName);
        var call = continuation(request, WithTraceContext(context, span));
        if (span is null) return call;
        var reader = new SpanEndingReader<TResponse>(call.ResponseStream, span);
        return new AsyncServerStreamingCall<TResponse>(reader, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, () =>
        {
            call.Dispose();
            reader.End(null);
        });
    }

    private static Activity? Start(string method)
    {
        if (!TracedMethods.TracedByHost(method)) return null;
        var name = method.TrimStart('/');
        var span = ShimTracing.Source.StartActivity(name, ActivityKind.Client);
        if (span is null) return null;
        var slash = name.IndexOf('/');
        span.SetTag("rpc.system", "grpc");
        span.SetTag("rpc.service", name[..slash]);
        span.SetTag("rpc.method", name[(slash + 1)..]);
        // The span is started and ended by the interceptor; the caller's own span stays current.
        Activity.Current = span.Parent;
        return span;
    }

    private static ClientInterceptorContext<TRequest, TResponse> WithTraceContext<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, Activity? span)
        where TRequest : class where TResponse : class
    {
        var current = span ?? Activity.Current;
        if (current is null) return context;
        var headers = context.Options.Headers ?? new Metadata();
        headers.Add("traceparent", current.Id!);
        if (current.TraceStateString is { Length: > 0 } state) headers.Add("tracestate", state);
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    private static async Task<T> EndWith<T>(Task<T> response, Activity? span)
    {
        try
        {
            return await response;
        }
        catch (Exception e)
        {
            span.Fail(e);
            if (e is RpcException r) span?.SetTag("rpc.grpc.status_code", (int)r.StatusCode);
            throw;
        }
        finally
        {
            span?.Stop();
        }
    }

    private sealed class SpanEndingReader<T>(IAsyncStreamReader<T> inner, Activity span) : IAsyncStreamReader<T>
    {
        private int _ended;
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                var more = await inner.MoveNext(cancellationToken);
                if (!more) End(null);
                return more;
            }
            catch (Exception e)
            {
                End(e);
                throw;
            }
        }

        public void End(Exception? error)
        {
            if (Interlocked.Exchange(ref _ended, 1) == 1) return;
            if (error is not null) span.Fail(error);
            span.Stop();
        }
    }
}
