using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The usual Aspire service defaults: OpenTelemetry (logs, metrics, traces), health checks,
/// service discovery and resilient HTTP clients. Logs and metrics go to the OTLP endpoints the
/// standard OTEL_EXPORTER_OTLP_* settings name (Aspire sets them to its dashboard), never to the
/// traces-only extra destinations.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, Action<TracerProviderBuilder>? configureTracing = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry(configureTracing);
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Logs and metrics through the SDK's OTLP exporter, which reads the general settings itself; the
    /// signal-specific ones (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, ...) are applied on top, as the spec orders. Traces are left to
    /// <paramref name="configureTracing"/> when given (the shim sends host and guest spans through
    /// its own sinks), else exported the same way.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, Action<TracerProviderBuilder>? configureTracing = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        var config = builder.Configuration;
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                // .NET emits HTTP client and runtime metrics itself; no instrumentation package is needed for them.
                metrics.AddAspNetCoreInstrumentation().AddMeter("System.Net.Http", "System.Runtime", "Nerdbox.*");
                if (Exports(config, "METRICS")) metrics.AddOtlpExporter(o => SignalExporterOptions.Apply(o, config, "METRICS"));
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                        !ctx.Request.Path.StartsWithSegments(HealthEndpointPath) && !ctx.Request.Path.StartsWithSegments(AlivenessEndpointPath));
                if (configureTracing is not null) configureTracing(tracing);
                else if (Exports(config, "TRACES")) tracing.AddOtlpExporter(o => SignalExporterOptions.Apply(o, config, "TRACES"));
            });
        if (Exports(config, "LOGS")) otel.WithLogging(logging => logging.AddOtlpExporter(o => SignalExporterOptions.Apply(o, config, "LOGS")));
        return builder;
    }

    /// <summary>
    /// A signal is exported when an endpoint for it is set (OTEL_EXPORTER_OTLP_ENDPOINT or the signal's own,
    /// e.g. OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) and OTEL_{signal}_EXPORTER, if set, names otlp. The exporter
    /// then reads every OTEL_EXPORTER_OTLP_* setting itself; nothing here rewrites them.
    /// </summary>
    private static bool Exports(IConfiguration config, string signal)
    {
        if (config[$"OTEL_{signal}_EXPORTER"] is { Length: > 0 } exporters
            && !exporters.Split(',').Any(e => e.Trim().Equals("otlp", StringComparison.OrdinalIgnoreCase)))
            return false;
        return !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrWhiteSpace(config[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>/health (all checks, with each check's reason) and /alive (liveness only).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }
}
