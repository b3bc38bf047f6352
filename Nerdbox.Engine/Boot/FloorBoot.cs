using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// One bare VM, the floor a run is measured against: the run's backend, kernel, accelerator, CPUs,
/// memory and kernel words, and a disk like the run's rootfs disk when the run has one, but an initramfs whose /init only
/// prints a line (<see cref="FloorImage"/>). Measures VMM spawn (the same origin as a run's "boot to
/// output") until that line is on the console.
/// </summary>
public static class FloorBoot
{
    /// <summary>How often the console log is read for the line; the figure can be late by up to this much.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// One bare VM's figures: VMM spawn to its line, and then the VMM's anonymous resident memory in MiB and its system CPU
    /// time (each null when unreadable), as a run's <see cref="BootPhases"/> has them at its first output.
    /// </summary>
    public sealed record Result(TimeSpan ToLine, double? VmmAnonMib, TimeSpan? VmmSystemCpu);

    /// <summary>Boots the bare VM once and measures it up to the line on its console; throws a <see cref="VmException"/> when the line never comes.</summary>
    public static async Task<Result> RunOnceAsync(string id, VmTaskOptions options, string floorInitrd, string? disk, CancellationToken ct)
    {
        var config = new VmConfig
        {
            Id = id,
            StateDirectory = Path.Combine(options.StateRoot, id),
            Cpus = options.Cpus,
            MemoryMib = options.MemoryMib,
            CpuModel = options.CpuModel,
            KernelPath = options.Image.KernelPath,
            InitrdPath = floorInitrd,
            Accelerator = options.Accelerator,
            Disks = disk is null ? [] : [new VmDisk(disk, Bundles.RootfsDisk.Serial)],
            KernelArgs = options.GuestKernelArgs,
        };
        await using var vm = options.Backend.Create(config);
        await vm.StartAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.BootTimeout);
        try
        {
            var seen = await WaitForLineAsync(vm, timeout.Token);
            var usage = vm.ProcessId is { } pid ? ProcessIdentity.UsageOf(pid) : null;
            await vm.StopAsync(TimeSpan.FromSeconds(5));
            return new Result(seen - vm.StartTimes.SpawnedUtc, usage?.AnonMib, usage?.SystemCpu);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new VmException($"the bare VM did not print '{FloorImage.Line}' within {options.BootTimeout.TotalSeconds:0}s\n{vm.ConsoleTail()}");
        }
    }

    /// <summary>Reads the console log as it grows until the line is in it; the host time it was first seen.</summary>
    private static async Task<DateTime> WaitForLineAsync(IVmInstance vm, CancellationToken ct)
    {
        var line = System.Text.Encoding.ASCII.GetBytes(FloorImage.Line);
        var seen = new List<byte>();
        var buffer = new byte[4096];
        await using var log = new FileStream(vm.ConsoleLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        while (true)
        {
            int n;
            while ((n = log.Read(buffer)) > 0)
            {
                seen.AddRange(buffer.AsSpan(0, n));
                if (seen.Count > 1 << 20) seen.RemoveRange(0, seen.Count - line.Length);
                if (System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seen).IndexOf(line) >= 0) return DateTime.UtcNow;
            }
            if (vm.Exited.IsCompleted)
                throw new VmException($"the bare VM stopped before printing '{FloorImage.Line}': {(await vm.Exited).Description}\n{vm.ConsoleTail()}");
            await Task.Delay(Poll, ct);
        }
    }
}
