using Grpc.Core;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Tracing;
using Nerdbox.Http2;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>
/// The agent's gRPC methods by path, and the serving of one call on the host channel: the path looked up, the deadline and cancellation
/// set, the method run inside its server span, and the status written. A plain table rather than ASP.NET Core
/// routing and grpc-dotnet's per-method pipelines, whose set-up (dependency injection, routes, generic types built
/// at run time) was most of the agent's start under emulation. Methods are added by direct generic calls
/// (<see cref="AgentMethods"/>), not through the generated <c>BindService</c>: its generic virtual calls made
/// NativeAOT build each method's types at run time.
/// </summary>
internal sealed class GrpcMethodTable(ServerSpans spans, int maxMessageBytes)
{
    private readonly Dictionary<string, Func<GrpcCall, Task>> _methods = new(StringComparer.Ordinal);

    public void Unary<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class where TResponse : class
    {
        _methods.Add(method.FullName, async call =>
        {
            var request = await call.ReadRequestAsync(method.RequestMarshaller);
            var response = await spans.UnaryAsync(request, call.Context, handler);
            await call.WriteMessageAsync(method.ResponseMarshaller, response, flush: false);
        });
    }

    public void ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class where TResponse : class
    {
        _methods.Add(method.FullName, async call =>
        {
            var request = await call.ReadRequestAsync(method.RequestMarshaller);
            await spans.ServerStreamingAsync(request, new GrpcResponseStream<TResponse>(call, method.ResponseMarshaller), call.Context, handler);
        });
    }

    /// <summary>The bound on a request body the host channel's connections hold each call to: one message and its prefix.</summary>
    public int MaxRequestBodyBytes => GrpcWire.PrefixBytes + maxMessageBytes;

    /// <summary>Serves one request stream on the host channel.</summary>
    public async Task ServeAsync(Http2Stream http)
    {
        if (http.Method != "POST")
        {
            await http.SendTrailersAsync(405, [], [], http.Aborted);
            return;
        }
        if (http.Field("content-type")?.StartsWith(GrpcWire.ContentType, StringComparison.OrdinalIgnoreCase) != true)
        {
            await http.SendTrailersAsync(415, [], [], http.Aborted);
            return;
        }
        var path = http.Path;
        if (!_methods.TryGetValue(path, out var serve))
        {
            await EndAsync(http, (int)StatusCode.Unimplemented, $"the agent does not serve {QuotedText.Cut(path, QuotedText.Long)}", null);
            return;
        }
        var timeoutHeader = http.Field("grpc-timeout");
        if (!GrpcWire.TryParseTimeout(timeoutHeader, out var timeout))
        {
            await EndAsync(http, (int)StatusCode.Internal, $"grpc-timeout '{QuotedText.Cut(timeoutHeader ?? "", QuotedText.Long)}' is not a timeout", null);
            return;
        }

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.Aborted);
        if (timeout is { } t) cancellation.CancelAfter(t);
        var deadline = timeout is { } d ? DateTime.UtcNow + d : DateTime.MaxValue;
        Status status;
        GrpcCallContext? context = null;
        try
        {
            context = new GrpcCallContext(http, path, GrpcCallContext.HeadersOf(http), deadline, cancellation.Token);
            await serve(new GrpcCall(context, maxMessageBytes));
            status = context.Status;
        }
        catch (RpcException e)
        {
            status = e.Status;
            if (context is not null) foreach (var entry in e.Trailers) context.ResponseTrailers.Add(entry);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            status = http.Aborted.IsCancellationRequested
                ? new Status(StatusCode.Cancelled, "the call was cancelled")
                : new Status(StatusCode.DeadlineExceeded, $"the call's deadline ({timeout}) passed");
        }
        catch (Exception e)
        {
            // A fault of the agent's own: the host gets its type and message, the console the whole of it.
            AgentLog.Write($"{path} failed: {e}");
            status = new Status(StatusCode.Unknown, $"{e.GetType().Name}: {e.Message}");
        }
        if (http.Aborted.IsCancellationRequested) return;
        await EndAsync(http, (int)status.StatusCode, status.Detail, context?.ResponseTrailers);
    }

    /// <summary>
    /// Ends the call with its status in trailers. Headers go first in a frame of their own even when nothing else was
    /// sent: a client that reads the status from trailers only (as HttpClient shows them) finds it there.
    /// </summary>
    private static async Task EndAsync(Http2Stream http, int code, string message, Metadata? trailers)
    {
        if (!http.HeadersSent) await http.SendHeadersAsync(200, GrpcWire.ResponseHeaders, http.Aborted, flush: false);
        await http.SendTrailersAsync(200, [], GrpcWire.StatusTrailers(code, message, trailers), http.Aborted);
    }
}
