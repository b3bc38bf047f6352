using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Nerdbox.Shim.Service;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.Shim.Hosting;

/// <summary>
/// The long-running shim: the task API over gRPC (a unix socket of mode 0600 by default, or
/// loopback TCP when <c>Nerdbox:TaskApi:Port</c> / <c>NERDBOX_TASK_API_PORT</c> is set) and the
/// HTTP endpoints (health, the sample run) on the URLs the host gives (ASPNETCORE_URLS), narrowed to
/// loopback unless the operator opts in (<see cref="HttpExposure"/>); the sample run needs the
/// <see cref="WorkKey"/>. docs/trust-model.md says who may call what.
/// </summary>
public static class ShimHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Host spans and the guest's relayed spans leave through one sink set: every configured
        // OTLP destination at once (the dashboard, Jaeger, ...), each bounded and counted on its own.
        builder.Services.AddSingleton<ISpanSink>(sp =>
            SpanSinks.Create(OtlpConfiguration.Parse(builder.Configuration), sp.GetRequiredService<ILoggerFactory>()));
        // Workloads' log records go to the same destinations' logs endpoints.
        builder.Services.AddSingleton<ILogSink>(sp =>
            LogSinks.Create(OtlpConfiguration.Parse(builder.Configuration), sp.GetRequiredService<ILoggerFactory>()));
        builder.AddServiceDefaults(tracing => tracing.AddShimSpans(sp => sp.GetRequiredService<ISpanSink>()));
        // Only the task API's calls get a server span: health probes and reflection stay out of traces.
        builder.Services.AddGrpc().AddServiceOptions<ShimTaskService>(o => o.Interceptors.Add<ShimServerSpanInterceptor>());
        builder.Services.AddSingleton<TaskRegistry>();
        // The HTTP answers' JSON comes from generated serialisers (refusals are problem details), so that a
        // NativeAOT publish, which has no reflection-based serialiser, answers the same.
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Add(ServiceJson.Default));
        builder.Services.AddSingleton(WorkKey.From(builder.Configuration));
        builder.Services.AddSingleton(WorkSlots.From(builder.Configuration));
        builder.Services.AddSingleton<VmReadiness>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<VmReadiness>());
        builder.Services.AddHealthChecks().AddCheck<VmReadiness>("vm", tags: [VmReadiness.HealthTag]);
        TaskApiHealth.Add(builder.Services);
        builder.Services.AddGrpcReflection();
        ShimServerSpanInterceptor.LeaveGrpcToTheInterceptor(builder.Services);

        var socketPath = TaskApiSocket(builder.Configuration);
        var port = builder.Configuration["Nerdbox:TaskApi:Port"] ?? builder.Configuration["NERDBOX_TASK_API_PORT"];
        var exposure = HttpExposure.From(builder.Configuration);
        var bindings = HttpUrls(builder.Configuration).Select(exposure.Bind).ToList();
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var binding in bindings) ListenHttp(k, binding);
            if (port is { Length: > 0 })
                k.Listen(IPAddress.Loopback, int.Parse(port), l => l.Protocols = HttpProtocols.Http2);
            else
            {
                PrepareSocketDirectory(Path.GetDirectoryName(socketPath)!);
                if (File.Exists(socketPath)) File.Delete(socketPath);
                k.ListenUnixSocket(socketPath, l => l.Protocols = HttpProtocols.Http2);
            }
        });

        var app = builder.Build();
        app.UseTaskApiOnItsListener(port is { Length: > 0 } ? int.Parse(port) : null);
        app.MapGrpcService<ShimTaskService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapDefaultEndpoints();
        app.MapSampleRun();
        await app.StartAsync();
        LogExposure(app.Logger, exposure, bindings, app.Services.GetRequiredService<WorkKey>());
        if (port is not { Length: > 0 } && !OperatingSystem.IsWindows())
        {
            // Only the owner may drive the shim over its socket.
            File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            app.Logger.LogInformation("task API on unix:{Path}", socketPath);
        }
        else app.Logger.LogInformation("task API on http://127.0.0.1:{Port} (HTTP/2)", port);
        await app.WaitForShutdownAsync();
        await app.Services.GetRequiredService<TaskRegistry>().DisposeAsync();
        await app.Services.GetRequiredService<ISpanSink>().FlushAsync(TimeSpan.FromSeconds(5));
        await app.Services.GetRequiredService<ILogSink>().FlushAsync(TimeSpan.FromSeconds(5));
        return 0;
    }

    /// <summary>
    /// The socket's directory, made owner-only when the shim creates it, so that nobody else can connect in the
    /// moment between bind and chmod. One that others may write to is refused: they could swap the socket.
    /// </summary>
    private static void PrepareSocketDirectory(string dir)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
            return;
        }
        if (!Directory.Exists(dir)) Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var mode = File.GetUnixFileMode(dir);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && (mode & UnixFileMode.StickyBit) == 0)
            throw new InvalidOperationException($"the task API socket's directory {dir} may be written by others ({mode}); give the socket an owner-only directory (Nerdbox:TaskApi:Socket)");
    }

    public static string TaskApiSocket(IConfiguration config) =>
        config["Nerdbox:TaskApi:Socket"] ?? Path.Combine(
            Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } run ? run : Path.Combine(Path.GetTempPath(), "nerdbox"),
            "nerdbox", "shim.sock");

    /// <summary>ASPNETCORE_URLS, else HTTP_PORTS (as a published app gets it: any address), else loopback 5180.</summary>
    private static string[] HttpUrls(IConfiguration config)
    {
        if (config["urls"] is { Length: > 0 } urls) return urls.Split(';', StringSplitOptions.RemoveEmptyEntries);
        if (config["HTTP_PORTS"] is { Length: > 0 } ports) return ports.Split(';', ',').Select(p => $"http://*:{p.Trim()}").ToArray();
        return ["http://127.0.0.1:5180"];
    }

    private static void ListenHttp(KestrelServerOptions k, HttpExposure.Binding binding)
    {
        if (binding.IsLocalhost) k.ListenLocalhost(binding.Port);
        else k.Listen(binding.Address!, binding.Port);
    }

    /// <summary>Says where the HTTP side listens; loudly when it is open beyond this machine, or was narrowed to loopback.</summary>
    private static void LogExposure(ILogger logger, HttpExposure exposure, IReadOnlyList<HttpExposure.Binding> bindings, WorkKey key)
    {
        foreach (var b in bindings.Where(b => b.Narrowed))
            logger.LogWarning("HTTP: {Url} asks for a non-loopback address; listening on {Address}:{Port} instead (set {Setting}=true to listen there)",
                b.Asked, b.Address, b.Port, HttpExposure.ListenAnyAddressKey);
        var open = bindings.Where(b => !b.IsLocalhost && !IPAddress.IsLoopback(b.Address!)).ToList();
        if (open.Count == 0)
        {
            logger.LogInformation("HTTP (health, sample run) on loopback only: {Urls}", string.Join(", ", bindings.Select(Describe)));
            return;
        }
        logger.LogWarning("HTTP IS OPEN BEYOND THIS MACHINE ({Setting}=true): {Urls}. Work-starting requests from other hosts {Rule}",
            HttpExposure.ListenAnyAddressKey, string.Join(", ", open.Select(Describe)),
            key.IsConfigured ? "need the work key" : $"are refused: no work key is configured ({WorkKey.ConfigKey})");
    }

    private static string Describe(HttpExposure.Binding b) => b.IsLocalhost ? $"localhost:{b.Port}" : new IPEndPoint(b.Address!, b.Port).ToString();
}
