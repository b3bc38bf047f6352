using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Boot;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Shim.Service;

/// <summary>
/// POST /samples/run: boots a VM with the app sample (a busybox script that prints a line and posts its own
/// start-up spans to the container's OTLP endpoint, so the run's trace runs on into the app's spans), and answers
/// the run's trace id, exit status, output, boot phases and boot to app ready (the end of the app's <c>app.Ready</c>
/// span; null when it never came), for the dashboard's "boot a sample VM" command.
/// The body may choose the backend, CPUs and memory (<see cref="SampleRunRequest"/>). It starts work,
/// so it needs the <see cref="WorkKey"/> (checked before the body is read) and a free <see cref="WorkSlots"/> slot.
/// </summary>
public static class SampleRunEndpoint
{
    public const string Path = "/samples/run";
    public const int MaxBodyBytes = 16 * 1024;
    public const string Greeting = "hello from a nerdbox sample VM";

    public static void MapSampleRun(this WebApplication app) => app.MapPost(Path, async (HttpRequest http, VmReadiness readiness, IServiceProvider services, CancellationToken ct) =>
    {
        // The body is a few fields: anything far larger is refused before it is read.
        if (http.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = MaxBodyBytes;
        SampleRunRequest? request;
        Dictionary<string, string[]>? problems;
        try
        {
            (request, problems) = await SampleRunRequest.ReadAsync(http, ct);
        }
        catch (BadHttpRequestException e)
        {
            return Results.Problem($"the body could not be read: {e.Message} (at most {MaxBodyBytes} bytes)", statusCode: e.StatusCode);
        }
        if (problems is not null) return Results.ValidationProblem(problems);
        VmTaskOptions options;
        try
        {
            options = await readiness.Options.WaitAsync(TimeSpan.FromSeconds(1), ct);
        }
        catch (Exception e) when (e is TimeoutException or VmException)
        {
            return Results.Problem(readiness.State, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        try
        {
            // The app sample's last span ends when it is ready: the run measures boot to app ready by it.
            options = WithRequest(options, request!) with
            {
                GuestSpanSink = services.GetService<ISpanSink>(),
                WorkloadLogSink = services.GetService<ILogSink>(),
                ReadyWhen = SampleBundle.AppSpans[^1],
            };
        }
        catch (VmException e)
        {
            // A backend this host cannot run is the request's problem: say so against its field.
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["backend"] = [e.Message] });
        }
        var id = "sample-" + Guid.NewGuid().ToString("N")[..8];
        var bundle = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nerdbox-" + id);
        try
        {
            await SampleBundle.CreateAppAsync(bundle, Greeting, ct);
            var run = await TaskRun.RunAsync(id, bundle, options, rootSpanName: "shim.SampleRun", ct: ct);
            return Results.Json(SampleRunResult.From(run, options), ServiceJson.Default.SampleRunResult);
        }
        catch (Exception e) when (e is VmException or BundleException or Grpc.Core.RpcException)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status500InternalServerError);
        }
        finally
        {
            try { Directory.Delete(bundle, true); } catch (IOException) { }
        }
    }).RequireWorkKey().RequireWorkSlot();

    /// <summary>The shim's options with the request's choices; a backend other than the prepared one is selected now (and may fail with its reason).</summary>
    private static VmTaskOptions WithRequest(VmTaskOptions options, SampleRunRequest request)
    {
        options = options with { Cpus = request.Cpus ?? options.Cpus, MemoryMib = request.MemoryMib ?? options.MemoryMib };
        if (request.Backend is not { } b || b == VmShape.Auto || b == options.Backend.Name) return options;
        var selection = BackendSelector.Select(b);
        return options with { Backend = selection.Backend, BackendReason = selection.Reason };
    }

    public sealed record Phase(string Name, double? StartMs, double? TookMs);

    public sealed record SampleRunResult(string TraceId, int ExitStatus, string Output, string Backend, int Cpus, int MemoryMib,
        double BootToOutputMs, IReadOnlyList<Phase> Phases, string PhaseSummary, double? BootToAppReadyMs)
    {
        public static SampleRunResult From(TaskRun.Outcome run, VmTaskOptions options) => new(
            run.TraceId, run.ExitStatus, Encoding.UTF8.GetString(run.Stdout), run.Backend, options.Cpus, options.MemoryMib,
            run.Phases.BootToOutput?.TotalMilliseconds ?? 0,
            [.. run.Phases.Phases().Select(p => new Phase(p.Name, p.Start is { } s ? (s - run.Phases.VmmSpawned).TotalMilliseconds : null, p.Duration?.TotalMilliseconds))],
            run.Phases.Summary(), run.Phases.BootToAppReady?.TotalMilliseconds);
    }
}
