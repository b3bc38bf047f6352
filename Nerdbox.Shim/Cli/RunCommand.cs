using Nerdbox.Shim.GuestImage;
using Nerdbox.Shim.Tasks;
using Nerdbox.Shim.Vm;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>run BUNDLE</c>: boots a VM, runs the bundle's container in it, prints its output, a
/// per-phase timing summary, and exits with the container's exit code.
/// </summary>
public static class RunCommand
{
    public const string Usage = """
        usage: nerdbox-shim run BUNDLE [options]
          --id ID             task id (default: run-<random>)
          --backend NAME      auto (default), qemu or libkrun
          --accel NAME        auto (default), kvm or tcg
          --cpus N            guest CPUs (default 1)
          --memory MIB        guest memory (default 512)
          --timeout SECONDS   how long the guest agent may take to answer (default 30)
          --quiet             no progress or summary on stderr
        """;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var a = new CliArgs(args, "quiet");
        if (a.Positional.Count != 1) { Console.Error.WriteLine(Usage); return 2; }
        var quiet = a.Has("quiet");
        void Progress(string line) { if (!quiet) Console.Error.WriteLine("nerdbox: " + line); }

        var options = await PrepareAsync(a, Progress, ct);
        var id = a.Get("id") ?? "run-" + Guid.NewGuid().ToString("N")[..8];
        Progress($"booting a VM ({options.Backend.Name}) for {a.Positional[0]}");
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        var run = await TaskRun.RunAsync(id, a.Positional[0], options, (isErr, data) =>
        {
            lock (stdout) (isErr ? stderr : stdout).Write(data.Span);
        }, ct: ct);
        Progress($"container exited with {run.ExitStatus} ({run.Backend}, agent {run.Agent?.AgentVersion}, kernel {run.Agent?.KernelRelease})");
        if (!quiet) Console.Error.WriteLine(run.Phases.Summary());
        return run.ExitStatus;
    }

    /// <summary>Selects the backend and makes sure the guest image is built (with progress); shared by run, bench and serve.</summary>
    public static async Task<VmTaskOptions> PrepareAsync(CliArgs a, Action<string> progress, CancellationToken ct)
    {
        HostPackages.Require(HostPackages.ForRun);
        var selection = BackendSelector.Select(a.Get("backend", "auto"));
        progress($"VM backend {selection.Reason}");
        var image = await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, progress).EnsureAsync(ct);
        StateDirectories.ReapStale(StateDirectories.DefaultRoot);
        return new VmTaskOptions
        {
            Image = image,
            Backend = selection.Backend,
            BackendReason = selection.Reason,
            Accelerator = a.Get("accel", "auto"),
            Cpus = a.GetInt("cpus", 1),
            MemoryMib = a.GetInt("memory", 512),
            BootTimeout = TimeSpan.FromSeconds(a.GetSeconds("timeout", 30)),
        };
    }
}
