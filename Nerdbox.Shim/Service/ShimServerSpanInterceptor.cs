using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Nerdbox.Telemetry;

namespace Nerdbox.Shim.Service;

/// <summary>
/// A server span for each task API call, child of the caller's W3C trace context, so that the
/// shim's spans (and the guest's below them) join the caller's trace.
/// </summary>
internal sealed class ShimServerSpanInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using var span = Start(context);
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e)
        {
            span.Fail(e);
            if (e is RpcException r) span?.SetTag("rpc.grpc.status_code", (int)r.StatusCode);
            throw;
        }
    }

    private static Activity? Start(ServerCallContext context)
    {
        // ASP.NET Core's request activity, when instrumented, has already taken the caller's context.
        var parent = Activity.Current is { Source.Name: "Microsoft.AspNetCore" } request ? request.Context : default;
        if (parent == default)
            ActivityContext.TryParse(context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate"), isRemote: true, out parent);
        var name = context.Method.TrimStart('/');
        var span = ShimTracing.Source.StartActivity(name, ActivityKind.Server, parent);
        span?.SetTag("rpc.system", "grpc");
        span?.SetTag("rpc.method", name[(name.IndexOf('/') + 1)..]);
        return span;
    }
}
