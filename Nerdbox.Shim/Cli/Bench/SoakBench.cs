using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Nerdbox.Api.Shim.V1;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench soak</c>: starts <c>serve</c> as its own process and, through its task API on the unix
/// socket (create, start, wait, delete, as containerd drives it), runs many consecutive boots and then
/// a round of concurrent ones. It prints the shim's open file descriptors, threads and RSS at the start,
/// after warm-up and at the end, what was left behind (state directories, VMM processes, sockets), and
/// whether anything grew beyond warm-up.
/// </summary>
public static class SoakBench
{
    // Growth allowed between the warm-up sample and the end: a pooled connection or two come and go,
    // the thread pool adds and retires threads on its own clock, and the GC keeps some heap it grew.
    private const int FdSlack = 2, ThreadSlack = 4;
    private const double RssSlackMib = 16, RssSlackShare = 0.10;
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var boots = CliOptions.PositiveInt("--boots", "N", "consecutive boots", 50);
        var concurrent = CliOptions.PositiveInt("--concurrent", "N", "boots at once, after the consecutive ones", 4);
        var warmUp = CliOptions.PositiveInt("--warm-up", "N", "consecutive boots that count as warm-up (the baseline is taken after them)", 5);
        var backend = VmOptions.Backend("--backend", "VM backend of the served shim");
        var accel = VmOptions.Accel("--accel");
        var command = new Command("soak",
            "Run many boots through serve's task API (consecutive, then concurrent); print the shim's fds, threads and RSS, what was left behind, and whether anything grew beyond warm-up.")
        {
            boots, concurrent, warmUp, backend, accel,
        };
        command.SetAction((r, ct) => RunAsync(r.GetValue(boots), r.GetValue(concurrent), r.GetValue(warmUp),
            r.GetRequiredValue(backend), r.GetRequiredValue(accel), ct));
        return command;
    }

    private static async Task<int> RunAsync(int boots, int concurrent, int warmUp, string backend, string accel, CancellationToken ct)
    {
        if (warmUp >= boots)
        {
            Console.Error.WriteLine($"nerdbox: --warm-up ({warmUp}) must be fewer than --boots ({boots}), or nothing is measured after it");
            return 2;
        }
        Console.WriteLine(BenchCommand.NoisyNote);
        var root = Directory.CreateTempSubdirectory("nerdbox-soak-").FullName;
        var stateRoot = Path.Combine(root, "vms");
        var socket = Path.Combine(root, "shim.sock");
        var bundle = Path.Combine(root, "bundle");
        await SampleBundle.CreateAsync(bundle, ["echo", "ready"], ct);
        var served = ServedShim.Start(root, stateRoot, socket, backend, accel);
        // Stopped (Ctrl-C, SIGTERM): serve is told at once, so that it stops its VMs even if this process is ended before its finally.
        using var passOn = ct.Register(served.Terminate);
        var failures = new List<string>();
        try
        {
            using var channel = TaskApiChannel(socket);
            Console.Error.WriteLine($"nerdbox: serve started (pid {served.Pid}); waiting until it can boot VMs (a first image build takes minutes)");
            await WaitServingAsync(channel, served, ct);
            var client = new Api.Shim.V1.Task.TaskClient(channel);
            var start = ShimFigures.Read(served.Pid);
            ShimFigures? warm = null;
            var trend = new List<ShimFigures>();
            var sw = Stopwatch.StartNew();
            for (var i = 1; i <= boots; i++)
            {
                var took = await BootAsync(client, $"soak-{i}", bundle, failures, ct);
                Console.Error.WriteLine($"boot {i}/{boots}: {took.TotalSeconds:0.0} s");
                if (i == warmUp) warm = ShimFigures.Read(served.Pid);
                if (i == warmUp) trend.Add(warm!);
                else if (i > warmUp) trend.Add(ShimFigures.Read(served.Pid));
            }
            var sequentialTook = sw.Elapsed;
            var afterSequential = ShimFigures.Read(served.Pid);
            sw.Restart();
            await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(1, concurrent)
                .Select(i => BootAsync(client, $"soak-concurrent-{i}", bundle, failures, ct)));
            var concurrentTook = sw.Elapsed;
            var afterConcurrent = ShimFigures.Read(served.Pid);
            var (end, settled) = await SettleAsync(served.Pid, warm!, ct);
            var left = Leftovers.Find(stateRoot, served.Pid, socket, stopped: false);

            Console.WriteLine($"bench soak: {boots} consecutive boots ({sequentialTook.TotalSeconds:0} s), then {concurrent} at once ({concurrentTook.TotalSeconds:0} s), through serve's task API (unix:{socket}); shim pid {served.Pid}");
            Console.WriteLine($"{"",-34} {"fds",6} {"threads",8} {"RSS MiB",9}  fds by kind (figures after a full GC in the shim)");
            Print("start (serving, before any boot)", start);
            Print($"after warm-up ({warmUp} boots)", warm!);
            Print($"after {boots} consecutive", afterSequential);
            Print($"after {concurrent} concurrent", afterConcurrent);
            Print($"end (settled {settled.TotalSeconds:0} s)", end);
            Console.WriteLine($"  per-boot trend after warm-up (least squares over {trend.Count} samples): fds {Slope(trend, f => f.Fds):+0.000;-0.000}/boot, " +
                $"threads {Slope(trend, f => f.Threads):+0.000;-0.000}/boot, RSS {Slope(trend, f => f.RssMib):+0.000;-0.000} MiB/boot");
            var opened = end.FdTargets.Except(warm!.FdTargets).Order().ToList();
            Console.WriteLine($"  fds open at the end that were not after warm-up: {(opened.Count == 0 ? "none" : string.Join(", ", opened.Take(12)))}");
            Console.WriteLine($"  failed boots: {failures.Count}{(failures.Count == 0 ? "" : ": " + string.Join("; ", failures.Take(5)))}");
            Console.WriteLine($"  left behind while serving: {left.Describe()}");

            await served.StopAsync();
            var afterStop = Leftovers.Find(stateRoot, served.Pid, socket, stopped: true);
            Console.WriteLine($"  left behind after the shim stopped (SIGTERM, exit {served.ExitCode}): {afterStop.Describe()}");
            Console.WriteLine(Verdict(warm!, end, left, afterStop, failures.Count));
            return 0;
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine($"nerdbox: soak stopped: {e.Message}\n--- serve's log (last lines) ---\n{served.LogTail()}");
            return 1;
        }
        finally
        {
            await served.StopAsync();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static void Print(string when, ShimFigures f) =>
        Console.WriteLine($"{when,-34} {f.Fds,6} {f.Threads,8} {f.RssMib,9:0.0}  {f.FdKinds}");

    /// <summary>One task's life as containerd drives it; a failed boot is counted and the soak goes on.</summary>
    private static async Task<TimeSpan> BootAsync(Api.Shim.V1.Task.TaskClient client, string id, string bundle, List<string> failures, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            await client.CreateAsync(new CreateRequest { Id = id, Bundle = bundle }, cancellationToken: ct);
            try
            {
                await client.StartAsync(new StartRequest { Id = id }, cancellationToken: ct);
                var waited = await client.WaitAsync(new WaitRequest { Id = id }, cancellationToken: ct);
                var state = await client.StateAsync(new StateRequest { Id = id }, cancellationToken: ct);
                var output = Encoding.UTF8.GetString(state.Stdout.Span);
                if (waited.ExitStatus != 0 || output != "ready\n")
                    lock (failures) failures.Add($"{id}: exit {waited.ExitStatus}, output '{output.Trim()}'");
            }
            finally
            {
                await client.DeleteAsync(new DeleteRequest { Id = id }, cancellationToken: ct);
            }
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode != Grpc.Core.StatusCode.Unavailable)
        {
            lock (failures) failures.Add($"{id}: {e.Status.Detail.Split('\n')[0]}");
        }
        return sw.Elapsed;
    }

    /// <summary>
    /// Samples until fds and threads are back within the warm-up's slack, or <see cref="SettleLimit"/> passed:
    /// right after a burst, exiting VMMs' pipes and the thread pool's extra threads take a moment to go.
    /// </summary>
    private static async Task<(ShimFigures End, TimeSpan Took)> SettleAsync(int pid, ShimFigures warm, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var now = ShimFigures.Read(pid);
            if ((now.Fds - now.AssemblyFds <= warm.Fds - warm.AssemblyFds + FdSlack && now.Threads <= warm.Threads + ThreadSlack) || sw.Elapsed >= SettleLimit) return (now, sw.Elapsed);
            await System.Threading.Tasks.Task.Delay(1000, ct);
        }
    }

    private static string Verdict(ShimFigures warm, ShimFigures end, Leftovers serving, Leftovers stopped, int failed)
    {
        var rssLimit = Math.Max(RssSlackMib, warm.RssMib * RssSlackShare);
        var grew = new List<string>();
        // Assemblies are left out: the runtime opens each once, when a code path first needs it (a boot's error path, say).
        var (warmFds, endFds) = (warm.Fds - warm.AssemblyFds, end.Fds - end.AssemblyFds);
        if (endFds > warmFds + FdSlack) grew.Add("fds");
        if (end.Threads > warm.Threads + ThreadSlack) grew.Add("threads");
        if (end.RssMib > warm.RssMib + rssLimit) grew.Add("RSS");
        if (!serving.IsEmpty || !stopped.IsEmpty) grew.Add("state left behind");
        var figures = string.Create(CultureInfo.InvariantCulture,
            $"fds other than assemblies {warmFds} -> {endFds} ({endFds - warmFds:+0;-0}, slack {FdSlack}; assemblies {warm.AssemblyFds} -> {end.AssemblyFds}), threads {warm.Threads} -> {end.Threads} ({end.Threads - warm.Threads:+0;-0}, slack {ThreadSlack}), " +
            $"RSS {warm.RssMib:0.0} -> {end.RssMib:0.0} MiB ({end.RssMib - warm.RssMib:+0.0;-0.0}, slack {rssLimit:0.0}), left behind: {(serving.IsEmpty && stopped.IsEmpty ? "nothing" : "yes")}, failed boots {failed}");
        return grew.Count == 0
            ? $"verdict: NO GROWTH beyond warm-up: {figures}"
            : $"verdict: GROWTH beyond warm-up ({string.Join(", ", grew)}): {figures}";
    }

    private static double Slope(IReadOnlyList<ShimFigures> samples, Func<ShimFigures, double> value)
    {
        if (samples.Count < 2) return 0;
        var n = samples.Count;
        var meanX = (n - 1) / 2.0;
        var meanY = samples.Average(value);
        double num = 0, den = 0;
        for (var i = 0; i < n; i++)
        {
            num += (i - meanX) * (value(samples[i]) - meanY);
            den += (i - meanX) * (i - meanX);
        }
        return num / den;
    }

    private static GrpcChannel TaskApiChannel(string socket) => GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { ConnectCallback = (_, ct) => UnixSocketConnection.ConnectAsync(socket, ct) },
    });

    /// <summary>Waits for grpc.health.v1 to say SERVING (the backend is usable and the image built).</summary>
    private static async System.Threading.Tasks.Task WaitServingAsync(GrpcChannel channel, ServedShim served, CancellationToken ct)
    {
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddMinutes(15);
        while (DateTime.UtcNow < deadline)
        {
            if (served.HasExited) throw new InvalidOperationException($"serve exited ({served.ExitCode}) before it could boot VMs");
            try
            {
                var r = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct);
                if (r.Status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable) { }
            await System.Threading.Tasks.Task.Delay(500, ct);
        }
        throw new TimeoutException("serve could not boot VMs within 15 minutes");
    }
}
