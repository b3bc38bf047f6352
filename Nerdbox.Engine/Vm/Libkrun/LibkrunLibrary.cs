using System.Runtime.InteropServices;
using System.Text;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>A libkrun library could not be loaded or a libkrun call failed; the message names the library, symbol or call.</summary>
internal sealed class LibkrunException(string message) : Exception(message);

/// <summary>
/// libkrun's C API, loaded at run time (there is no build-time dependency, so hosts without
/// libkrun still run the shim). Our own declarations of the calls we use; every libkrun call returns
/// a negative errno on failure, which the wrappers turn into a <see cref="LibkrunException"/>.
/// The guest kernel is the project's own image through <c>krun_set_kernel</c>; libkrunfw (libkrun's
/// bundled kernel) would be the alternative and is not used.
/// </summary>
internal sealed unsafe class LibkrunLibrary : IDisposable
{
    public static readonly string[] DefaultNames = ["libkrun.so.1", "libkrun.so"];

    /// <summary>Names the library to load instead of the defaults (a path or a soname).</summary>
    public const string LibraryVariable = "NERDBOX_LIBKRUN";

    private const uint KernelFormatElf = 1;
    private const uint LogLevelWarn = 2;
    private const uint LogStyleNever = 2;

    private nint _handle;
    private readonly delegate* unmanaged<int> _createCtx;
    private readonly delegate* unmanaged<uint, int> _freeCtx;
    private readonly delegate* unmanaged<uint, byte, uint, int> _setVmConfig;
    private readonly delegate* unmanaged<uint, byte*, uint, byte*, byte*, int> _setKernel;
    private readonly delegate* unmanaged<uint, byte*, byte*, byte, int> _addDisk;
    private readonly delegate* unmanaged<uint, byte*, int> _setConsoleOutput;
    private readonly delegate* unmanaged<uint, uint, byte*, byte, int> _addVsockPort2;
    private readonly delegate* unmanaged<uint, int> _startEnter;
    // Optional: older releases lack them.
    private readonly delegate* unmanaged<int, uint, uint, uint, int> _initLog;
    private readonly delegate* unmanaged<uint, int> _disableImplicitVsock;
    private readonly delegate* unmanaged<uint, uint, int> _addVsock;

    public string Name { get; }

    private LibkrunLibrary(string name, nint handle)
    {
        Name = name;
        _handle = handle;
        _createCtx = (delegate* unmanaged<int>)Required("krun_create_ctx");
        _freeCtx = (delegate* unmanaged<uint, int>)Required("krun_free_ctx");
        _setVmConfig = (delegate* unmanaged<uint, byte, uint, int>)Required("krun_set_vm_config");
        _setKernel = (delegate* unmanaged<uint, byte*, uint, byte*, byte*, int>)Required("krun_set_kernel");
        _addDisk = (delegate* unmanaged<uint, byte*, byte*, byte, int>)Required("krun_add_disk");
        _setConsoleOutput = (delegate* unmanaged<uint, byte*, int>)Required("krun_set_console_output");
        _addVsockPort2 = (delegate* unmanaged<uint, uint, byte*, byte, int>)Required("krun_add_vsock_port2");
        _startEnter = (delegate* unmanaged<uint, int>)Required("krun_start_enter");
        _initLog = (delegate* unmanaged<int, uint, uint, uint, int>)Optional("krun_init_log");
        _disableImplicitVsock = (delegate* unmanaged<uint, int>)Optional("krun_disable_implicit_vsock");
        _addVsock = (delegate* unmanaged<uint, uint, int>)Optional("krun_add_vsock");
    }

    /// <summary>The names tried, in order: <c>NERDBOX_LIBKRUN</c> when set, else the defaults.</summary>
    public static IReadOnlyList<string> Candidates() =>
        Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } name ? [name] : DefaultNames;

    /// <summary>Loads the first candidate that exists and resolves every symbol the backend needs.</summary>
    public static LibkrunLibrary Load(IReadOnlyList<string>? names = null)
    {
        names ??= Candidates();
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            try
            {
                return new LibkrunLibrary(name, handle);
            }
            catch
            {
                NativeLibrary.Free(handle);
                throw;
            }
        }
        throw new LibkrunException($"libkrun is not installed: could not load {string.Join(" or ", names)}");
    }

    /// <summary>Whether libkrun can be loaded here, with its name or the reason it cannot.</summary>
    public static bool TryFind(out string nameOrReason, IReadOnlyList<string>? names = null)
    {
        try
        {
            using var lib = Load(names);
            nameOrReason = lib.Name;
            return true;
        }
        catch (LibkrunException e)
        {
            nameOrReason = e.Message;
            return false;
        }
    }

    private nint Required(string symbol) =>
        NativeLibrary.TryGetExport(_handle, symbol, out var address) ? address
            : throw new LibkrunException($"{Name} has no symbol {symbol}: it is not libkrun, or a release too old for this backend");

    private nint Optional(string symbol) => NativeLibrary.TryGetExport(_handle, symbol, out var address) ? address : 0;

    /// <summary>libkrun's own log to stderr, warnings and errors only.</summary>
    public void InitLog()
    {
        if (_initLog != null) Check("krun_init_log", _initLog(2, LogLevelWarn, LogStyleNever, 0));
    }

    public uint CreateContext()
    {
        var id = _createCtx();
        Check("krun_create_ctx", id);
        return (uint)id;
    }

    public void FreeContext(uint ctx) => _freeCtx(ctx);

    public void SetVmConfig(uint ctx, int cpus, int memoryMib)
    {
        if (cpus is < 1 or > 255) throw new LibkrunException($"libkrun takes 1 to 255 vCPUs, not {cpus}");
        Check("krun_set_vm_config", _setVmConfig(ctx, (byte)cpus, (uint)memoryMib));
    }

    public void SetKernel(uint ctx, string kernelElf, string? initrd, string cmdline)
    {
        fixed (byte* k = Utf8(kernelElf))
        fixed (byte* i = initrd is null ? null : Utf8(initrd))
        fixed (byte* c = Utf8(cmdline))
            Check("krun_set_kernel", _setKernel(ctx, k, KernelFormatElf, i, c));
    }

    public void AddDisk(uint ctx, string blockId, string path, bool readOnly)
    {
        fixed (byte* b = Utf8(blockId))
        fixed (byte* p = Utf8(path))
            Check("krun_add_disk", _addDisk(ctx, b, p, readOnly ? (byte)1 : (byte)0));
    }

    public void SetConsoleOutput(uint ctx, string path)
    {
        fixed (byte* p = Utf8(path))
            Check("krun_set_console_output", _setConsoleOutput(ctx, p));
    }

    /// <summary>
    /// A vsock device without TSI (transparent socket impersonation, which needs libkrunfw's patched
    /// kernel), where this libkrun can say so; older releases add an implicit one.
    /// </summary>
    public void AddPlainVsock(uint ctx)
    {
        if (_disableImplicitVsock == null || _addVsock == null) return;
        Check("krun_disable_implicit_vsock", _disableImplicitVsock(ctx));
        Check("krun_add_vsock", _addVsock(ctx, 0));
    }

    /// <summary>Maps guest vsock <paramref name="port"/> to a host unix socket libkrun listens on (the host connects).</summary>
    public void AddVsockPortListen(uint ctx, uint port, string socketPath)
    {
        fixed (byte* p = Utf8(socketPath))
            Check("krun_add_vsock_port2", _addVsockPort2(ctx, port, p, 1));
    }

    /// <summary>Runs the VM on this thread. Returns only when libkrun rejects the configuration; otherwise libkrun ends the process.</summary>
    public int StartEnter(uint ctx) => _startEnter(ctx);

    public static string Describe(string call, int rc) => $"{call} failed: {rc} ({Marshal.GetPInvokeErrorMessage(-rc)})";

    private static void Check(string call, int rc)
    {
        if (rc < 0) throw new LibkrunException(Describe(call, rc));
    }

    private static byte[] Utf8(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    public void Dispose()
    {
        if (_handle != 0) NativeLibrary.Free(_handle);
        _handle = 0;
    }
}
