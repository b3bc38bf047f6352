using Task = System.Threading.Tasks.Task;
using TaskStatus = Nerdbox.Api.Task.V1.TaskStatus;
using System.Diagnostics;
using Nerdbox.Api.Task.V1;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Tasks;

/// <summary>
/// One OCI container driven through crun: create (stdio on pipes the agent reads), start, wait,
/// kill, delete. crun's own messages go to a log file so that they never mix with the container's
/// output, and come back in the error when a crun command fails.
/// </summary>
internal sealed class Container
{
    private readonly string _crun;
    private readonly string _stateRoot;
    private readonly TaskCompletionSource<(int Status, ulong At)> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Container(string id, string bundlePath, string crun, string stateRoot, OutputBuffer output)
    {
        Output = output;
        Id = id;
        BundlePath = bundlePath;
        _crun = crun;
        _stateRoot = stateRoot;
    }

    public string Id { get; }
    public string BundlePath { get; }
    public int Pid { get; private set; }
    public TaskStatus Status { get; private set; } = TaskStatus.Unknown;
    public OutputBuffer Output { get; }
    public Task<(int Status, ulong At)> Exited => _exited.Task;

    /// <summary>
    /// The span id chosen at create for this container's <c>crun.Start</c> span (its workload was told it as
    /// <c>TRACEPARENT</c>), and the create's context, whose trace the start span joins.
    /// </summary>
    public (ActivitySpanId SpanId, ActivityContext CreateContext)? ChosenStartSpan { get; set; }

    private string LogPath => Path.Combine(BundlePath, "crun.log");

    private string[] Global(params string[] args) => ["--root", _stateRoot, "--log", "file:" + LogPath, .. args];

    public async Task CreateAsync()
    {
        using var span = StartCrunSpan("crun.Create");
        try
        {
            using var stdout = new ChildProcess.Pipe();
            using var stderr = new ChildProcess.Pipe();
            var pidFile = Path.Combine(BundlePath, "init.pid");
            // --no-pivot: the guest's root is the initramfs, where pivot_root is refused.
            var crunPid = ChildProcess.Spawn(_crun, Global("create", "--no-pivot", "--bundle", BundlePath, "--pid-file", pidFile, Id),
                stdout.WriteFd, stderr.WriteFd);
            stdout.CloseWrite();
            stderr.CloseWrite();
            _ = Output.PumpAsync(stdout.OpenRead(), OutputStream.Stdout);
            _ = Output.PumpAsync(stderr.OpenRead(), OutputStream.Stderr);
            var exit = await ChildReaper.Instance.WaitAsync(crunPid);
            RecordCpu(span, exit);
            if (exit.ExitCode != 0) throw new CrunException("create", exit.ExitCode, ReadLog());
            Pid = int.Parse(File.ReadAllText(pidFile).Trim());
            span?.SetTag("process.pid", Pid);
            Status = TaskStatus.Created;
            _ = WatchExitAsync();
        }
        catch (Exception e)
        {
            GuestTracing.RecordError(span, e);
            throw;
        }
    }

    private async Task WatchExitAsync()
    {
        var exit = await ChildReaper.Instance.WaitAsync(Pid);
        Status = TaskStatus.Stopped;
        _exited.TrySetResult((exit.ExitCode, Init.BootClock.WallNs()));
    }

    public async Task StartAsync()
    {
        if (Status != TaskStatus.Created) throw new InvalidOperationException($"task '{Id}' is {Status}, not created");
        await RunCrunAsync(StartStartSpan(), "start", Id);
        if (Status == TaskStatus.Created) Status = TaskStatus.Running;
    }

    public async Task KillAsync(uint signal)
    {
        if (Status == TaskStatus.Stopped) return;
        await RunCrunAsync("crun.Kill", "kill", Id, signal.ToString());
    }

    public async Task DeleteAsync()
    {
        await RunCrunAsync("crun.Delete", "delete", "--force", Id);
    }

    /// <summary>A span of one crun command, which names the runtime and the container it acts on.</summary>
    private Activity? StartCrunSpan(string name)
    {
        var span = GuestTracing.Source.StartActivity(name);
        span?.SetTag("container.runtime.name", "crun");
        span?.SetTag("container.id", Id);
        return span;
    }

    /// <summary>
    /// <c>crun.Start</c>, under the chosen span id if there is one; in the create's trace even when start comes in
    /// another (linked to the start call's context then), since that is where the workload's spans point.
    /// </summary>
    private Activity? StartStartSpan()
    {
        if (ChosenStartSpan is not { } chosen) return StartCrunSpan("crun.Start");
        Activity? span;
        if (Activity.Current is { } current && current.TraceId != chosen.CreateContext.TraceId)
        {
            span = GuestTracing.Source.StartActivity("crun.Start", ActivityKind.Internal, chosen.CreateContext, links: [new ActivityLink(current.Context)]);
            span?.SetTag("container.runtime.name", "crun");
            span?.SetTag("container.id", Id);
        }
        else
        {
            span = StartCrunSpan("crun.Start");
        }
        GuestTracing.UseSpanId(span, chosen.SpanId);
        return span;
    }

    private Task RunCrunAsync(string spanName, params string[] args) => RunCrunAsync(StartCrunSpan(spanName), args);

    private async Task RunCrunAsync(Activity? started, params string[] args)
    {
        using var span = started;
        try
        {
            var result = await ChildProcess.RunAsync(_crun, Global(args));
            RecordCpu(span, result.Exit);
            if (result.ExitCode != 0) throw new CrunException(args[0], result.ExitCode, (result.Output + ReadLog()).Trim());
        }
        catch (Exception e)
        {
            GuestTracing.RecordError(span, e);
            throw;
        }
    }

    /// <summary>
    /// The crun process's own CPU time on its span (with any child it waited for; not the container's init, which it
    /// leaves running): what of the span's time crun itself used, in user space and in the guest's kernel.
    /// </summary>
    private static void RecordCpu(Activity? span, ChildExit exit)
    {
        span?.SetTag(CpuUserAttribute, Math.Round(exit.UserCpu.TotalMilliseconds, 3));
        span?.SetTag(CpuSystemAttribute, Math.Round(exit.SystemCpu.TotalMilliseconds, 3));
    }

    public const string CpuUserAttribute = "nerdbox.process.cpu.user_ms";
    public const string CpuSystemAttribute = "nerdbox.process.cpu.system_ms";

    private string ReadLog()
    {
        try
        {
            var text = File.ReadAllText(LogPath);
            return text.Length > 4096 ? text[^4096..] : text;
        }
        catch (IOException) { return ""; }
    }
}

internal sealed class CrunException(string command, int exitCode, string log)
    : Exception($"crun {command} failed (exit {exitCode}): {log.Trim()}");
