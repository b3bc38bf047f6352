using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Nerdbox.Telemetry;
using OpenTelemetry.Instrumentation.AspNetCore;

namespace Nerdbox.Shim.Service;

/// <summary>
/// The one server span of each task API call, child of the caller's W3C trace context, so that the
/// shim's spans (and the guest's below them) join the caller's trace.
/// </summary>
internal sealed class ShimServerSpanInterceptor : Interceptor
{
    /// <summary>
    /// ASP.NET Core's request span would be a second server span for the same call: gRPC requests are
    /// left unrecorded there, and this interceptor's span (named after the RPC) is the call's.
    /// </summary>
    public static void LeaveGrpcToTheInterceptor(IServiceCollection services) =>
        services.PostConfigure<AspNetCoreTraceInstrumentationOptions>(o =>
        {
            var previous = o.Filter;
            o.Filter = ctx => !IsGrpc(ctx.Request) && (previous?.Invoke(ctx) ?? true);
        });

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

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
        ActivityContext.TryParse(context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate"), isRemote: true, out var parent);
        // The current activity is ASP.NET Core's unrecorded request: never a parent, or this span would hang
        // under a span no backend has. Without a caller's context the call starts its own trace.
        Activity.Current = null;
        var name = context.Method.TrimStart('/');
        var span = ShimTracing.Source.StartActivity(name, ActivityKind.Server, parent);
        span?.SetTag("rpc.system", "grpc");
        span?.SetTag("rpc.service", name[..Math.Max(0, name.IndexOf('/'))]);
        span?.SetTag("rpc.method", name[(name.IndexOf('/') + 1)..]);
        return span;
    }
}
