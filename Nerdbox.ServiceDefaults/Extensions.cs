using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nerdbox.ServiceDefaults.Otlp;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The usual Aspire service defaults: OpenTelemetry (logs, metrics, traces), health checks,
/// service discovery and resilient HTTP clients. Telemetry goes to every OTLP destination the
/// configuration names (see <see cref="OtlpConfiguration"/>), not only Aspire's own.
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
    /// Logs and metrics go to each OTLP destination through the SDK's exporter, one named instance
    /// per destination. Traces are left to <paramref name="configureTracing"/> when given (the shim
    /// sends host and guest spans through one sink set), else exported the same way.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, Action<TracerProviderBuilder>? configureTracing = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        var destinations = OtlpConfiguration.Parse(builder.Configuration);
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                // .NET emits HTTP client and runtime metrics itself; no instrumentation package is needed for them.
                metrics.AddAspNetCoreInstrumentation().AddMeter("System.Net.Http", "System.Runtime", "Nerdbox.*");
                foreach (var d in destinations) metrics.AddOtlpExporter(d.Name, o => d.ApplyTo(o, "metrics"));
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                        !ctx.Request.Path.StartsWithSegments(HealthEndpointPath) && !ctx.Request.Path.StartsWithSegments(AlivenessEndpointPath));
                if (configureTracing is not null) configureTracing(tracing);
                else foreach (var d in destinations) tracing.AddOtlpExporter(d.Name, o => d.ApplyTo(o, "traces"));
            });
        builder.Services.AddOpenTelemetry().WithLogging(logging =>
        {
            foreach (var d in destinations) logging.AddOtlpExporter(d.Name, o => d.ApplyTo(o, "logs"));
        });
        return builder;
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
