using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// What the benchmarks that boot VMs share: the backend, image and bundle they run, one run whose
/// failure is counted rather than fatal, and the statistics they print.
/// </summary>
internal static class BenchRuns
{
    private static int Failures;

    /// <summary>A line saying how many boots failed, or empty when none did.</summary>
    public static string FailureNote => Failures == 0 ? "" : $"  {Failures} boot(s) failed and are left out of the figures";

    /// <summary>Counts a failed boot, which the benchmark leaves out and goes on without.</summary>
    public static void Failed(string what, Exception e)
    {
        Failures++;
        Console.Error.WriteLine($"nerdbox: {what} failed, left out: {e.Message.Split('\n')[0]}");
    }

    /// <summary>One run; a boot that fails is reported and counted, and the benchmark goes on without it.</summary>
    public static async Task<TaskRun.Outcome?> RunOnceAsync(string id, string bundle, VmTaskOptions options, ISpanSink? sinks, CancellationToken ct)
    {
        using var tracing = sinks is null ? null : ShimTracerProvider.Create(sinks);
        try
        {
            return await TaskRun.RunAsync(id, bundle, options with { GuestSpanSink = sinks }, ct: ct);
        }
        // A guest that stops answering mid-run (on a starved machine its server can give up on the channel) is one failed boot too.
        catch (Exception e) when (e is VmException or Grpc.Core.RpcException)
        {
            Failed($"run {id}", e);
            return null;
        }
    }

    /// <summary>The backend, a built image and the one-line busybox bundle every boot benchmark runs.</summary>
    public static async Task<(VmTaskOptions Options, string Bundle)> PrepareAsync(VmRequest request, CancellationToken ct, bool app = false)
    {
        var options = await VmOptions.PrepareAsync(request, l => Console.Error.WriteLine("nerdbox: " + l), ct);
        return (options, await BundleAsync(ct, app));
    }

    /// <summary>
    /// The one-line busybox bundle alone, or with <paramref name="app"/> the app sample that traces its start-up
    /// (for <c>--ready-when</c>); the caller deletes it.
    /// </summary>
    public static async Task<string> BundleAsync(CancellationToken ct, bool app = false)
    {
        var bundle = Path.Combine(Path.GetTempPath(), "nerdbox-bench-" + Environment.ProcessId);
        if (app) await SampleBundle.CreateAppAsync(bundle, "ready", ct);
        else await SampleBundle.CreateAsync(bundle, ["echo", "ready"], ct);
        return bundle;
    }

    /// <summary>
    /// For <c>--ready-when</c>: the options that wait for the span, and a sink set with no destination, so that the
    /// guest's spans are relayed (the app's among them) and go nowhere. Null sinks without it: nothing is traced.
    /// </summary>
    public static (VmTaskOptions Options, ISpanSink? Sinks) ReadyWhen(VmTaskOptions options, string? readyWhen) =>
        readyWhen is null ? (options, null) : (options with { ReadyWhen = readyWhen }, new SpanSinkSet([], "app-ready"));

    /// <summary>
    /// The order two kinds of run take, <paramref name="count"/> rounds of one each: A B, B A, A B, ...,
    /// so that neither kind always goes first, drift in the machine's load hits both alike, and each kind follows
    /// each kind (itself included) about as often.
    /// </summary>
    public static IEnumerable<(int Round, T Kind)> Alternating<T>(T a, T b, int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return (i, i % 2 == 0 ? a : b);
            yield return (i, i % 2 == 0 ? b : a);
        }
    }

    /// <summary>
    /// The order any number of kinds take, <paramref name="count"/> of each: a cycle in which every kind follows every
    /// kind, itself included, exactly once (a de Bruijn sequence of order two: F F R F C R R C C for three), repeated.
    /// A boot leaves the host in a state the next one inherits (a bare VM frees less memory than a run, and a run
    /// right after one was measured 150–200 ms slower), so each kind must be measured after each predecessor alike.
    /// Round is the boot's index among its kind's.
    /// </summary>
    public static IEnumerable<(int Round, T Kind)> Balanced<T>(IReadOnlyList<T> kinds, int count)
    {
        var cycle = new List<int>();
        for (var i = 0; i < kinds.Count; i++)
        {
            cycle.Add(i);
            for (var j = i + 1; j < kinds.Count; j++) cycle.AddRange([i, j]);
        }
        var done = new int[kinds.Count];
        for (var (n, left) = (0, count * kinds.Count); left > 0; n++)
        {
            var k = cycle[n % cycle.Count];
            if (done[k] == count) continue;
            yield return (done[k]++, kinds[k]);
            left--;
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
