using Grpc.Core;
using Nerdbox.Api.System.V1;
using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent.Services;

/// <summary>Agent identity, boot timeline, clock set and probe, and power-off.</summary>
internal sealed class SystemService(AgentOptions options, Init.BootTimeline timeline, Server.AgentLifetime lifetime) : Api.System.V1.System.SystemBase
{
    public static readonly string Version = typeof(SystemService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public override Task<InfoResponse> Info(InfoRequest request, ServerCallContext context) => Task.FromResult(new InfoResponse
    {
        AgentVersion = Version,
        KernelRelease = ReadKernelRelease(),
        UptimeNs = BootClock.BootNs(),
        GuestTimeUnixNano = BootClock.WallNs(),
        Channel = options.ChannelDescription,
        Pid1 = options.IsPid1,
        Timeline = new Api.System.V1.BootTimeline
        {
            InitStartedNs = timeline.InitStartedNs,
            MountsDoneNs = timeline.MountsDoneNs,
            InitDoneNs = timeline.InitDoneNs,
            ChannelFoundNs = timeline.ChannelFoundNs,
            ListenerReadyNs = timeline.ListenerReadyNs,
            FirstCallNs = Volatile.Read(ref timeline.FirstCallNs),
        },
    });

    public override Task<SetTimeResponse> SetTime(SetTimeRequest request, ServerCallContext context)
    {
        var before = BootClock.WallNs();
        // Only the VM's init owns the clock; as a host process the agent leaves it alone.
        if (options.IsPid1 && !BootClock.TrySetWall(request.HostTimeUnixNano, out var error))
            throw new RpcException(new Status(StatusCode.Internal, "clock_settime: " + error));
        return Task.FromResult(new SetTimeResponse { GuestTimeBeforeUnixNano = before, GuestTimeAfterUnixNano = BootClock.WallNs() });
    }

    public override Task<ProbeClockResponse> ProbeClock(ProbeClockRequest request, ServerCallContext context)
    {
        // The host's first call is a clock probe: its arrival ends the first connection's set-up.
        timeline.MarkCall();
        return Task.FromResult(new ProbeClockResponse { GuestTimeUnixNano = BootClock.WallNs(), GuestBootNs = BootClock.BootNs() });
    }

    public override Task<ShutdownResponse> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        // Reply first. As the VM's init there is nothing to wind down gracefully: containers were
        // deleted and the host has read the spans, so power off as soon as the reply is out.
        _ = Task.Run(async () =>
        {
            await Task.Delay(20);
            if (options.IsPid1) GuestInit.PowerOff();
            else lifetime.Stop();
        });
        return Task.FromResult(new ShutdownResponse());
    }

    public override Task<KernelLogResponse> KernelLog(KernelLogRequest request, ServerCallContext context)
    {
        var (text, size) = KernelLogReader.Read((int)Math.Min(request.MaxBytes, int.MaxValue));
        return Task.FromResult(new KernelLogResponse
        {
            Text = Google.Protobuf.ByteString.CopyFrom(text),
            BufferBytes = (uint)size,
            ModuleLoads = { Init.KernelModules.Loads },
        });
    }

    private static string ReadKernelRelease()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
