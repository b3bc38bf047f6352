using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Nerdbox.Engine.Vm.Native;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// The helper process of one libkrun VM (<c>nerdbox-shim vm-helper --state DIR</c>): reads the configuration,
/// sets libkrun up and hands this process over to it. See <see cref="HelperProtocol"/>.
/// </summary>
public static class VmHelper
{
    public static int Run(string[] args)
    {
        var events = Console.OpenStandardOutput();
        var state = args.SkipWhile(a => a != "--state").Skip(1).FirstOrDefault();
        if (string.IsNullOrEmpty(state)) return Fail(events, "no --state directory given");
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(state, HelperProtocol.ConfigFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(events, "cannot read the configuration: " + e.Message);
        }
        HelperConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(text, HelperJsonContext.Default.HelperConfig);
        }
        catch (JsonException e)
        {
            return Fail(events, "bad configuration: " + e.Message);
        }
        if (config is null) return Fail(events, "no configuration in " + HelperProtocol.ConfigFile);

        if (Environment.GetEnvironmentVariable(HelperProtocol.HoldVariable) == "1")
        {
            Emit(events, new HelperEvent(HelperProtocol.Configured));
            Thread.Sleep(Timeout.Infinite);
        }

        LibkrunLibrary lib;
        try
        {
            lib = LibkrunLibrary.Load();
        }
        catch (LibkrunException e)
        {
            return Fail(events, e.Message);
        }

        uint? ctx = null;
        try
        {
            lib.InitLog();
            ctx = lib.CreateContext();
            Configure(lib, ctx.Value, config);
        }
        catch (LibkrunException e)
        {
            if (ctx is { } c) lib.FreeContext(c);
            return Fail(events, e.Message);
        }
        Emit(events, new HelperEvent(HelperProtocol.Configured));
        Emit(events, new HelperEvent(HelperProtocol.Starting));

        // libkrun takes over stdin/stdout for the guest's sake; give it /dev/null and stderr, and keep
        // the event channel on a descriptor of its own for the one case where the start call returns.
        var saved = Libc.Fcntl(1, Libc.F_DUPFD_CLOEXEC, 3);
        var devNull = Libc.Open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC);
        if (devNull >= 0)
        {
            Libc.Dup2(devNull, 0);
            Libc.Close(devNull);
        }
        Libc.Dup2(2, 1);

        var rc = lib.StartEnter(ctx.Value);
        var message = LibkrunLibrary.Describe("krun_start_enter", rc);
        if (saved >= 0)
        {
            using var channel = new FileStream(new SafeFileHandle(saved, ownsHandle: true), FileAccess.Write, bufferSize: 0);
            return Fail(channel, message);
        }
        Console.Error.WriteLine("nerdbox-vm-helper: " + message);
        return 1;
    }

    private static void Configure(LibkrunLibrary lib, uint ctx, HelperConfig config)
    {
        lib.SetVmConfig(ctx, config.Cpus, config.MemoryMib);
        lib.SetKernel(ctx, config.Kernel, config.Initrd, config.Cmdline);
        foreach (var disk in config.Disks) lib.AddDisk(ctx, disk.BlockId, disk.Path, disk.ReadOnly);
        lib.SetConsoleOutput(ctx, config.ConsoleLog);
        lib.AddPlainVsock(ctx);
        lib.AddVsockPortListen(ctx, config.VsockPort, config.AgentSocket);
    }

    private static int Fail(Stream events, string message)
    {
        Emit(events, new HelperEvent(HelperProtocol.Error, message));
        return 1;
    }

    private static void Emit(Stream events, HelperEvent e)
    {
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(e, HelperJsonContext.Default.HelperEvent);
            events.Write(bytes);
            events.WriteByte((byte)'\n');
            events.Flush();
        }
        catch (IOException)
        {
            // The shim went away; the exit code still tells.
        }
    }
}
