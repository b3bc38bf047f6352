using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>
/// The agent's gRPC methods by path, and the serving of one call: the path looked up, the deadline and cancellation
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
            await call.WriteMessageAsync(method.ResponseMarshaller, response);
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

    /// <summary>Serves one request on the host channel.</summary>
    public async Task ServeAsync(HttpContext http)
    {
        var request = http.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (request.ContentType?.StartsWith(GrpcWire.ContentType, StringComparison.OrdinalIgnoreCase) != true)
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        var path = request.Path.Value ?? "";
        if (!_methods.TryGetValue(path, out var serve))
        {
            GrpcWire.SetStatus(http, (int)StatusCode.Unimplemented, $"the agent does not serve {path}");
            return;
        }
        if (!GrpcWire.TryParseTimeout(request.Headers["grpc-timeout"], out var timeout))
        {
            GrpcWire.SetStatus(http, (int)StatusCode.Internal, $"grpc-timeout '{request.Headers["grpc-timeout"]}' is not a timeout");
            return;
        }
        // Bundles come in one message, larger than Kestrel's default body limit.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = GrpcWire.PrefixBytes + (long)maxMessageBytes;

        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        if (timeout is { } t) cancellation.CancelAfter(t);
        var deadline = timeout is { } d ? DateTime.UtcNow + d : DateTime.MaxValue;
        Status status;
        GrpcCallContext? context = null;
        try
        {
            context = new GrpcCallContext(http, path, GrpcCallContext.HeadersOf(request), deadline, cancellation.Token);
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
            status = http.RequestAborted.IsCancellationRequested
                ? new Status(StatusCode.Cancelled, "the call was cancelled")
                : new Status(StatusCode.DeadlineExceeded, $"the call's deadline ({timeout}) passed");
        }
        catch (Exception e)
        {
            // A fault of the agent's own: the host gets its type and message, the console the whole of it.
            AgentLog.Write($"{path} failed: {e}");
            status = new Status(StatusCode.Unknown, $"{e.GetType().Name}: {e.Message}");
        }
        if (http.RequestAborted.IsCancellationRequested) return;
        if (context is not null)
        {
            foreach (var entry in context.ResponseTrailers)
                http.Response.AppendTrailer(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value);
        }
        GrpcWire.SetStatus(http, (int)status.StatusCode, status.Detail);
    }
}
