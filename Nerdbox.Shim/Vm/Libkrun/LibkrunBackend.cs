namespace Nerdbox.Shim.Vm.Libkrun;

/// <summary>
/// libkrun microVMs (needs hardware KVM and libkrun.so). libkrun is loaded at run time, never
/// linked at build time, so hosts without it still run the shim with another backend.
/// </summary>
public sealed class LibkrunBackend : IVmBackend
{
    public static readonly string[] LibraryNames = ["libkrun.so.1", "libkrun.so"];

    public string Name => "libkrun";

    public BackendCheck Check()
    {
        var kvm = HostAccelerator.Kvm();
        if (!kvm.Usable) return new(false, $"libkrun needs hardware KVM: {kvm.Reason}");
        if (!TryFindLibrary(out var lib)) return new(false, $"libkrun is not installed (looked for {string.Join(", ", LibraryNames)})");
        return new(false, $"found {lib}, but the libkrun backend is not available in this build yet");
    }

    public IVmInstance Create(VmConfig config) => throw new VmException(Check().Reason);

    public static bool TryFindLibrary(out string name)
    {
        foreach (var candidate in LibraryNames)
        {
            if (System.Runtime.InteropServices.NativeLibrary.TryLoad(candidate, out var handle))
            {
                System.Runtime.InteropServices.NativeLibrary.Free(handle);
                name = candidate;
                return true;
            }
        }
        name = "";
        return false;
    }
}
