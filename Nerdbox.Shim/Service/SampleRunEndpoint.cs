using System.Text;
using Nerdbox.Shim.Cli;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Boot;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Shim.Service;

/// <summary>
/// POST /samples/run: boots a VM with a busybox container that prints a line, and answers the
/// run's trace id, exit status, output and boot phases (the dashboard's "boot a sample VM" command).
/// </summary>
public static class SampleRunEndpoint
{
    public static void MapSampleRun(this WebApplication app) => app.MapPost("/samples/run", async (VmReadiness readiness, IServiceProvider services, CancellationToken ct) =>
    {
        VmTaskOptions options;
        try
        {
            options = await readiness.Options.WaitAsync(TimeSpan.FromSeconds(1), ct);
        }
        catch (Exception e) when (e is TimeoutException or VmException)
        {
            return Results.Problem(readiness.State, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        var id = "sample-" + Guid.NewGuid().ToString("N")[..8];
        var bundle = Path.Combine(Path.GetTempPath(), "nerdbox-" + id);
        try
        {
            await SampleBundle.CreateAsync(bundle, ["sh", "-c", "echo hello from a nerdbox sample VM; uname -sr"], ct);
            var run = await TaskRun.RunAsync(id, bundle, options with { GuestSpanSink = services.GetService<ISpanSink>() },
                rootSpanName: "nerdbox.SampleRun", ct: ct);
            return Results.Json(new SampleRunResult(run.TraceId, run.ExitStatus, Encoding.UTF8.GetString(run.Stdout), run.Backend,
                run.Phases.BootToOutput?.TotalMilliseconds ?? 0));
        }
        catch (Exception e) when (e is VmException or BundleException or Grpc.Core.RpcException)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status500InternalServerError);
        }
        finally
        {
            try { Directory.Delete(bundle, true); } catch (IOException) { }
        }
    });

    public sealed record SampleRunResult(string TraceId, int ExitStatus, string Output, string Backend, double BootToOutputMs);
}
